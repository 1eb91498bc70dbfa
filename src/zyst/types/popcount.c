/* zyst.types.popcount: the number of set bits in a span of bytes, with the CPU's popcount
 * instruction when it has one.
 *
 * Why this exists: BITCOUNT spends nearly all its time counting bits, and the counters Python
 * can reach (bitarray's wheel, int.bit_count) are compiled for the baseline x86-64, which has
 * no popcount instruction, so they count with a software routine about ten times slower. Here
 * the counting loop is compiled twice, once allowed to use POPCNT, and the CPU is asked once,
 * at import, which one it can run. Elsewhere (other architectures, other compilers) the
 * compiler's own builtin is used as it is.
 *
 * count(data, start, end) -> int
 *     Set bits in data[start:end] (bytes offsets; any object with the buffer protocol). The
 *     caller keeps 0 <= start <= end <= len(data); out-of-range offsets raise ValueError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Eight bytes at a time through four independent sums (the popcounts then overlap in the
 * pipeline), the last few bytes one by one. memcpy keeps unaligned reads legal. */
#define COUNT_BODY                                                          \
    uint64_t a = 0, b = 0, c = 0, d = 0;                                    \
    size_t i = 0;                                                           \
    for (; i + 32 <= n; i += 32) {                                          \
        uint64_t w[4];                                                      \
        memcpy(w, p + i, 32);                                               \
        a += (uint64_t)__builtin_popcountll(w[0]);                          \
        b += (uint64_t)__builtin_popcountll(w[1]);                          \
        c += (uint64_t)__builtin_popcountll(w[2]);                          \
        d += (uint64_t)__builtin_popcountll(w[3]);                          \
    }                                                                       \
    for (; i + 8 <= n; i += 8) {                                            \
        uint64_t w;                                                         \
        memcpy(&w, p + i, 8);                                               \
        a += (uint64_t)__builtin_popcountll(w);                             \
    }                                                                       \
    for (; i < n; i++)                                                      \
        b += (uint64_t)__builtin_popcount(p[i]);                            \
    return a + b + c + d;

static uint64_t count_generic(const unsigned char *p, size_t n) { COUNT_BODY }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("popcnt"))) static uint64_t count_popcnt(const unsigned char *p, size_t n)
{
    COUNT_BODY
}
#endif

static uint64_t (*count_impl)(const unsigned char *, size_t) = count_generic;

static PyObject *count(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "count() takes exactly 3 arguments");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    if (end == -1 && PyErr_Occurred())
        return NULL;
    uint64_t total;
    if (PyBytes_CheckExact(args[0])) {
        /* The common case, without the buffer protocol's bookkeeping. */
        if (start < 0 || end < start || end > PyBytes_GET_SIZE(args[0]))
            goto range_error;
        total = count_impl((const unsigned char *)PyBytes_AS_STRING(args[0]) + start,
                           (size_t)(end - start));
    } else {
        Py_buffer view;
        if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
            return NULL;
        if (start < 0 || end < start || end > view.len) {
            PyBuffer_Release(&view);
            goto range_error;
        }
        total = count_impl((const unsigned char *)view.buf + start, (size_t)(end - start));
        PyBuffer_Release(&view);
    }
    return PyLong_FromUnsignedLongLong(total);
range_error:
    PyErr_SetString(PyExc_ValueError, "byte range outside the buffer");
    return NULL;
}

static PyObject *hardware(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyBool_FromLong(count_impl != count_generic);
}

static PyMethodDef methods[] = {
    {"count", (PyCFunction)(void (*)(void))count, METH_FASTCALL,
     "count(data, start, end) -> set bits in data[start:end] (byte offsets)."},
    {"hardware", hardware, METH_NOARGS,
     "hardware() -> whether counting uses the CPU's popcount instruction."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "zyst.types.popcount",
    "Set bits in a span of bytes, with the CPU's popcount instruction when it has one.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_popcount(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("popcnt"))
        count_impl = count_popcnt;
#endif
    return PyModule_Create(&module_def);
}
