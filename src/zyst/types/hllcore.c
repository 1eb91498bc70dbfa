/* zyst.types.hllcore: the hot loops of HyperLogLog (see hll.py, which holds the same
 * algorithms in Python for a pure-Python install, and the representation's description).
 *
 * Why this exists: MurmurHash64A multiplies 64-bit words modulo 2**64, which Python (and mypyc)
 * can only do through arbitrary-precision integers and masks, about fifty times slower; and a
 * dense HLL's 16384 packed 6-bit registers are read one by one for every count and merge.
 *
 * pattern(data) -> int
 *     The element's register and value as value << 14 | register.
 * dense_add(hll, elements, start) -> int
 *     Add elements[start:] (a list of bytes) to the dense HLL hll (a bytearray, header included):
 *     how many raised a register.
 * unpack(hll) -> bytearray
 *     The dense HLL's 16384 registers, one byte each.
 * pack(hll, raw)
 *     Store 16384 registers given one byte each (0..63) into the dense HLL hll.
 * histogram_raw(raw) -> list
 *     How many of the 16384 bytes of raw hold each value 0..63 (values must be below 64).
 * dense_histogram(hll) -> list
 *     The histogram of a dense HLL's register values (unpack then histogram_raw, without the
 *     16 KB in between).
 * raw_max(dst, src)
 *     Raise each byte of dst (a bytearray) to the byte of src at the same place (same length).
 * sparse_seek(hll, index) -> (p, prev, first, span)
 *     The walk of a sparse HLL's opcodes to the one covering register index: its offset p (the
 *     value's length if none does), the previous opcode's offset (-1 if none), the first
 *     register it covers and how many (an XZERO cut by the end reads a zero byte).
 * sparse_histogram(hll) -> list | None
 *     The histogram of a sparse HLL's register values, None if the opcodes do not cover
 *     exactly 16384 registers.
 *
 * Lengths are checked (a dense HLL must be 16 + 12288 bytes, raw 16384): ValueError otherwise.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define HEADER 16
#define REGISTERS 16384
#define DENSE_BYTES 12288
#define SEED 0xadc83b19ULL

static uint64_t murmur64a(const uint8_t *data, Py_ssize_t len)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = SEED ^ ((uint64_t)len * m);
    const uint8_t *end = data + (len - (len & 7));
    while (data != end) {
        uint64_t k;
        memcpy(&k, data, 8); /* little-endian hosts, as Redis's x86 builds read it */
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
        data += 8;
    }
    switch (len & 7) {
    case 7: h ^= (uint64_t)data[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)data[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)data[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)data[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)data[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)data[1] << 8;  /* fall through */
    case 1: h ^= (uint64_t)data[0]; h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* value << 14 | register of an element. */
static long pattern_of(const uint8_t *data, Py_ssize_t len)
{
    uint64_t h = murmur64a(data, len);
    long index = (long)(h & (REGISTERS - 1));
    uint64_t rest = (h >> 14) | ((uint64_t)1 << 50);
    long count = (long)__builtin_ctzll(rest) + 1;
    return (count << 14) | index;
}

static inline unsigned get_reg(const uint8_t *regs, long i)
{
    unsigned long bit = (unsigned long)i * 6, at = bit >> 3, shift = bit & 7;
    unsigned v = regs[at] >> shift;
    if (shift > 2)
        v |= (unsigned)regs[at + 1] << (8 - shift);
    return v & 63;
}

static inline void put_reg(uint8_t *regs, long i, unsigned v)
{
    unsigned long bit = (unsigned long)i * 6, at = bit >> 3, shift = bit & 7;
    regs[at] = (uint8_t)((regs[at] & ~(63u << shift)) | (v << shift));
    if (shift > 2)
        regs[at + 1] = (uint8_t)((regs[at + 1] & ~(63u >> (8 - shift))) | (v >> (8 - shift)));
}

static PyObject *pattern(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    long pat = pattern_of(view.buf, view.len);
    PyBuffer_Release(&view);
    return PyLong_FromLong(pat);
}

/* A writable dense HLL, or NULL with an exception set. */
static uint8_t *dense_registers(PyObject *hll)
{
    if (!PyByteArray_Check(hll) || PyByteArray_GET_SIZE(hll) != HEADER + DENSE_BYTES) {
        PyErr_SetString(PyExc_ValueError, "not a dense HLL bytearray");
        return NULL;
    }
    return (uint8_t *)PyByteArray_AS_STRING(hll) + HEADER;
}

static PyObject *dense_add(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "dense_add(hll, elements: list, start)");
        return NULL;
    }
    uint8_t *regs = dense_registers(args[0]);
    if (regs == NULL)
        return NULL;
    Py_ssize_t start = PyLong_AsSsize_t(args[2]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    PyObject *elements = args[1];
    long changed = 0;
    for (Py_ssize_t j = start < 0 ? 0 : start; j < PyList_GET_SIZE(elements); j++) {
        PyObject *item = PyList_GET_ITEM(elements, j);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "elements must be bytes");
            return NULL;
        }
        long pat = pattern_of((const uint8_t *)PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item));
        long index = pat & (REGISTERS - 1);
        unsigned count = (unsigned)(pat >> 14);
        if (count > get_reg(regs, index)) {
            put_reg(regs, index, count);
            changed++;
        }
    }
    return PyLong_FromLong(changed);
}

static PyObject *unpack(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len != HEADER + DENSE_BYTES) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "not a dense HLL");
        return NULL;
    }
    PyObject *out = PyByteArray_FromStringAndSize(NULL, REGISTERS);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const uint8_t *p = (const uint8_t *)view.buf + HEADER;
    uint8_t *raw = (uint8_t *)PyByteArray_AS_STRING(out);
    for (long i = 0; i < REGISTERS; i += 4, p += 3) {
        raw[i] = p[0] & 63;
        raw[i + 1] = (uint8_t)((p[0] >> 6 | p[1] << 2) & 63);
        raw[i + 2] = (uint8_t)((p[1] >> 4 | p[2] << 4) & 63);
        raw[i + 3] = p[2] >> 2;
    }
    PyBuffer_Release(&view);
    return out;
}

static PyObject *pack(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "pack(hll, raw)");
        return NULL;
    }
    uint8_t *p = dense_registers(args[0]);
    if (p == NULL)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len != REGISTERS) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "raw registers must be 16384 bytes");
        return NULL;
    }
    const uint8_t *raw = view.buf;
    for (long i = 0; i < REGISTERS; i += 4, p += 3) {
        p[0] = (uint8_t)(raw[i] | raw[i + 1] << 6);
        p[1] = (uint8_t)(raw[i + 1] >> 2 | raw[i + 2] << 4);
        p[2] = (uint8_t)(raw[i + 2] >> 4 | raw[i + 3] << 2);
    }
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *histogram_list(const long *histo)
{
    PyObject *out = PyList_New(64);
    if (out == NULL)
        return NULL;
    for (int v = 0; v < 64; v++) {
        PyObject *n = PyLong_FromLong(histo[v]);
        if (n == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, v, n);
    }
    return out;
}

static PyObject *dense_histogram(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len != HEADER + DENSE_BYTES) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "not a dense HLL");
        return NULL;
    }
    /* Four tables, one per register of each group of four: most registers hold the same few
     * values, and increments of one counter in a row wait for each other. */
    long lanes[4][64] = {{0}}, histo[64];
    const uint8_t *p = (const uint8_t *)view.buf + HEADER;
    for (long i = 0; i < REGISTERS; i += 4, p += 3) {
        lanes[0][p[0] & 63]++;
        lanes[1][(p[0] >> 6 | p[1] << 2) & 63]++;
        lanes[2][(p[1] >> 4 | p[2] << 4) & 63]++;
        lanes[3][p[2] >> 2]++;
    }
    PyBuffer_Release(&view);
    for (int v = 0; v < 64; v++)
        histo[v] = lanes[0][v] + lanes[1][v] + lanes[2][v] + lanes[3][v];
    return histogram_list(histo);
}

static PyObject *histogram_raw(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    long histo[256] = {0};
    const uint8_t *raw = view.buf;
    for (Py_ssize_t i = 0; i < view.len; i++)
        histo[raw[i]]++;
    PyBuffer_Release(&view);
    return histogram_list(histo);
}

/* The header of a string: whether it is an HLL as is_valid() checks, and its cached count. */
static PyObject *is_valid(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint8_t *p = view.buf;
    int valid = view.len >= HEADER && memcmp(p, "HYLL", 4) == 0 && p[4] <= 1 &&
                (p[4] != 0 || view.len == HEADER + DENSE_BYTES);
    PyBuffer_Release(&view);
    return PyBool_FromLong(valid);
}

static PyObject *cached(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len < HEADER) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "an HLL header is 16 bytes");
        return NULL;
    }
    const uint8_t *p = view.buf;
    long long card = -1;
    if (!(p[15] & 0x80)) {
        uint64_t v = 0;
        for (int i = 15; i >= 8; i--)
            v = v << 8 | p[i];
        card = (long long)v;
    }
    PyBuffer_Release(&view);
    return PyLong_FromLongLong(card);
}

static PyObject *raw_max(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyByteArray_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "raw_max(dst: bytearray, src)");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Py_ssize_t n = PyByteArray_GET_SIZE(args[0]);
    if (view.len != n) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "raw_max: lengths differ");
        return NULL;
    }
    uint8_t *dst = (uint8_t *)PyByteArray_AS_STRING(args[0]);
    const uint8_t *src = view.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (src[i] > dst[i])
            dst[i] = src[i];
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

/* Registers covered by the opcode at p (end: the value's length). */
static long span_at(const uint8_t *buf, Py_ssize_t p, Py_ssize_t end)
{
    uint8_t op = buf[p];
    if ((op & 0xc0) == 0)
        return (op & 0x3f) + 1;
    if (op & 0x80)
        return (op & 3) + 1;
    long low = p + 1 < end ? buf[p + 1] : 0;
    return (((long)(op & 0x3f) << 8) | low) + 1;
}

static PyObject *sparse_seek(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "sparse_seek(hll, index)");
        return NULL;
    }
    long index = PyLong_AsLong(args[1]);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint8_t *buf = view.buf;
    Py_ssize_t end = view.len, p = HEADER, prev = -1;
    long first = 0, span = 0;
    while (p < end) {
        span = span_at(buf, p, end);
        if (index <= first + span - 1)
            break;
        prev = p;
        p += ((buf[p] & 0xc0) == 0x40) ? 2 : 1;
        first += span;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(nnll)", p, prev, first, span);
}

static PyObject *sparse_histogram(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint8_t *buf = view.buf;
    Py_ssize_t end = view.len, p = HEADER;
    long long histo[64] = {0}, idx = 0;
    while (p < end) {
        uint8_t op = buf[p];
        long runlen = span_at(buf, p, end);
        if ((op & 0xc0) == 0) {
            histo[0] += runlen;
            p++;
        } else if ((op & 0x80) == 0) {
            histo[0] += runlen;
            p += 2;
        } else {
            histo[((op >> 2) & 0x1f) + 1] += runlen;
            p++;
        }
        idx += runlen;
    }
    PyBuffer_Release(&view);
    if (idx != REGISTERS)
        Py_RETURN_NONE;
    PyObject *out = PyList_New(64);
    if (out == NULL)
        return NULL;
    for (int v = 0; v < 64; v++) {
        PyObject *n = PyLong_FromLongLong(histo[v]);
        if (n == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, v, n);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"pattern", (PyCFunction)pattern, METH_O, "value << 14 | register of an element"},
    {"is_valid", (PyCFunction)is_valid, METH_O, "whether a string's header is an HLL's"},
    {"cached", (PyCFunction)cached, METH_O, "the cached cardinality, -1 when stale"},
    {"dense_add", (PyCFunction)(void (*)(void))dense_add, METH_FASTCALL,
     "add elements[start:] to a dense HLL; how many raised a register"},
    {"unpack", (PyCFunction)unpack, METH_O, "a dense HLL's registers, one byte each"},
    {"pack", (PyCFunction)(void (*)(void))pack, METH_FASTCALL,
     "store registers given one byte each into a dense HLL"},
    {"histogram_raw", (PyCFunction)histogram_raw, METH_O, "counts of each value 0..63"},
    {"dense_histogram", (PyCFunction)dense_histogram, METH_O, "histogram of a dense HLL"},
    {"raw_max", (PyCFunction)(void (*)(void))raw_max, METH_FASTCALL,
     "raise each byte of dst to src's"},
    {"sparse_seek", (PyCFunction)(void (*)(void))sparse_seek, METH_FASTCALL,
     "(p, prev, first, span) of the opcode covering a register"},
    {"sparse_histogram", (PyCFunction)sparse_histogram, METH_O,
     "histogram of a sparse HLL, None if corrupt"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "zyst.types.hllcore", "HyperLogLog's hot loops", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_hllcore(void) { return PyModule_Create(&module_def); }
