/* zyst.types.streamresp: stream entries written as a RESP range reply straight from the nodes'
 * bytes (the loop of XRANGE, XREVRANGE, XREAD and XREADGROUP replies).
 *
 * Why this exists: compiled by mypyc, writing an entry costs about 400 ns (a dozen small
 * bytes objects, then a join); here it is a few copies into one buffer. The pure-Python code
 * (zyst.types.stream.Node.write_resp) is the reference and the fallback of a pure-Python
 * install; tests compare the two.
 *
 * entries_resp(positions) -> bytes
 *     positions: a list of (node, index) pairs, node a zyst.types.stream.Node. Returns
 *     ``*<n>\r\n`` and, for each pair, ``*2 $id *<2k> field value ...`` as RESP, the entry read
 *     from the node's ``blob`` at ``offsets[index]`` with its ID from ``ids`` (``ms - base, seq``
 *     pairs) and, for a same-fields entry, its field names from ``master``. ``ids`` and
 *     ``offsets`` may be lists or arrays of unsigned items (see Node.seal). A node whose bytes
 *     do not parse raises ValueError: the buffer is never read out of bounds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define FLAG_SAMEFIELDS 2

typedef struct {
    char *data;
    size_t len, cap;
} Out;

static int out_reserve(Out *out, size_t more)
{
    if (out->len + more <= out->cap)
        return 0;
    size_t cap = out->cap ? out->cap : 256;
    while (cap < out->len + more)
        cap *= 2;
    char *grown = PyMem_Realloc(out->data, cap);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    out->data = grown;
    out->cap = cap;
    return 0;
}

/* Decimal digits of v at p (room for 20), returns how many. */
static size_t put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

/* "<c><n>\r\n" (an array or bulk header). */
static int put_header(Out *out, char c, uint64_t n)
{
    if (out_reserve(out, 23))
        return -1;
    char *p = out->data + out->len;
    p[0] = c;
    size_t len = 1 + put_u64(p + 1, n);
    p[len++] = '\r';
    p[len++] = '\n';
    out->len += len;
    return 0;
}

/* "$<n>\r\n<bytes>\r\n" */
static int put_bulk(Out *out, const char *bytes, size_t n)
{
    if (put_header(out, '$', n) || out_reserve(out, n + 2))
        return -1;
    memcpy(out->data + out->len, bytes, n);
    out->data[out->len + n] = '\r';
    out->data[out->len + n + 1] = '\n';
    out->len += n + 2;
    return 0;
}

/* A list or an array of unsigned items, read by index. */
typedef struct {
    PyObject *obj;
    Py_buffer view;
    int is_list;
    Py_ssize_t size;
} Items;

static int items_open(Items *items, PyObject *obj)
{
    items->obj = obj;
    if (PyList_Check(obj)) {
        items->is_list = 1;
        items->size = PyList_GET_SIZE(obj);
        return 0;
    }
    items->is_list = 0;
    if (PyObject_GetBuffer(obj, &items->view, PyBUF_FORMAT | PyBUF_ND) < 0)
        return -1;
    Py_ssize_t width = items->view.itemsize;
    if (width != 2 && width != 4 && width != 8) {
        PyBuffer_Release(&items->view);
        PyErr_SetString(PyExc_ValueError, "stream node items of an unexpected width");
        return -1;
    }
    items->size = items->view.len / width;
    return 0;
}

static void items_close(Items *items)
{
    if (!items->is_list)
        PyBuffer_Release(&items->view);
}

static int items_get(Items *items, Py_ssize_t i, uint64_t *value)
{
    if (i < 0 || i >= items->size) {
        PyErr_SetString(PyExc_ValueError, "stream node index out of range");
        return -1;
    }
    if (items->is_list) {
        unsigned long long v = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(items->obj, i));
        if (v == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        *value = v;
        return 0;
    }
    const char *at = (const char *)items->view.buf + i * items->view.itemsize;
    switch (items->view.itemsize) {
    case 2: {
        uint16_t v;
        memcpy(&v, at, 2);
        *value = v;
        break;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, at, 4);
        *value = v;
        break;
    }
    default: {
        uint64_t v;
        memcpy(&v, at, 8);
        *value = v;
    }
    }
    return 0;
}

/* One node's attributes, held while its entries are written. */
typedef struct {
    PyObject *node, *blob, *master;
    Items ids, offsets;
    uint64_t base;
} NodeView;

static void view_close(NodeView *view)
{
    if (view->node == NULL)
        return;
    items_close(&view->ids);
    items_close(&view->offsets);
    Py_XDECREF(view->ids.obj);
    Py_XDECREF(view->offsets.obj);
    Py_XDECREF(view->blob);
    Py_XDECREF(view->master);
    view->node = NULL;
}

/* The attribute names read off a node, interned once (see PyInit_streamresp). */
static PyObject *name_ids, *name_offsets, *name_base, *name_blob, *name_master;

static int view_open(NodeView *view, PyObject *node)
{
    memset(view, 0, sizeof(*view));
    PyObject *ids = PyObject_GetAttr(node, name_ids);
    PyObject *offsets = ids ? PyObject_GetAttr(node, name_offsets) : NULL;
    PyObject *base = offsets ? PyObject_GetAttr(node, name_base) : NULL;
    view->blob = base ? PyObject_GetAttr(node, name_blob) : NULL;
    view->master = view->blob ? PyObject_GetAttr(node, name_master) : NULL;
    if (view->master == NULL || !PyByteArray_Check(view->blob) || !PyTuple_Check(view->master)) {
        if (view->master != NULL)
            PyErr_SetString(PyExc_TypeError, "not a stream node");
        goto fail;
    }
    view->base = PyLong_AsUnsignedLongLong(base);
    Py_CLEAR(base);
    if (view->base == (unsigned long long)-1 && PyErr_Occurred())
        goto fail;
    if (items_open(&view->ids, ids))
        goto fail;
    if (items_open(&view->offsets, offsets)) {
        items_close(&view->ids);
        goto fail;
    }
    view->node = node;
    return 0;
fail:
    Py_XDECREF(ids);
    Py_XDECREF(offsets);
    Py_XDECREF(base);
    Py_CLEAR(view->blob);
    Py_CLEAR(view->master);
    return -1;
}

static int corrupt(void)
{
    PyErr_SetString(PyExc_ValueError, "stream node bytes do not parse");
    return -1;
}

/* A varint length at *at, then that many bytes, all within the blob. */
static int read_string(const unsigned char *blob, size_t size, size_t *at, size_t *len)
{
    uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
        if (*at >= size || shift > 56)
            return corrupt();
        unsigned char byte = blob[(*at)++];
        value |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80)
            break;
    }
    if (value > size - *at)
        return corrupt();
    *len = (size_t)value;
    return 0;
}

static int write_entry(Out *out, NodeView *view, Py_ssize_t index)
{
    uint64_t at64, ms, seq;
    if (items_get(&view->offsets, index, &at64) || items_get(&view->ids, 2 * index, &ms) ||
        items_get(&view->ids, 2 * index + 1, &seq))
        return -1;
    const unsigned char *blob = (const unsigned char *)PyByteArray_AS_STRING(view->blob);
    size_t size = (size_t)PyByteArray_GET_SIZE(view->blob);
    size_t at = (size_t)at64;
    if (at >= size)
        return corrupt();
    unsigned char flags = blob[at++];

    /* *2 $<len> <ms>-<seq> */
    char id[42];
    size_t id_len = put_u64(id, ms + view->base);
    id[id_len++] = '-';
    id_len += put_u64(id + id_len, seq);
    if (put_header(out, '*', 2) || put_bulk(out, id, id_len))
        return -1;

    size_t len;
    if (flags & FLAG_SAMEFIELDS) {
        Py_ssize_t fields = PyTuple_GET_SIZE(view->master);
        if (put_header(out, '*', 2 * (uint64_t)fields))
            return -1;
        for (Py_ssize_t i = 0; i < fields; i++) {
            PyObject *field = PyTuple_GET_ITEM(view->master, i);
            if (!PyBytes_Check(field)) {
                PyErr_SetString(PyExc_TypeError, "stream master fields must be bytes");
                return -1;
            }
            if (put_bulk(out, PyBytes_AS_STRING(field), (size_t)PyBytes_GET_SIZE(field)))
                return -1;
            if (read_string(blob, size, &at, &len) || put_bulk(out, (const char *)blob + at, len))
                return -1;
            at += len;
        }
        return 0;
    }
    /* The count of pairs, a varint read as a string's length would be (without the bytes). */
    uint64_t pairs = 0;
    for (int shift = 0;; shift += 7) {
        if (at >= size || shift > 56)
            return corrupt();
        unsigned char byte = blob[at++];
        pairs |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80)
            break;
    }
    if (pairs > size) /* each item takes at least a byte */
        return corrupt();
    if (put_header(out, '*', 2 * pairs))
        return -1;
    for (uint64_t i = 0; i < 2 * pairs; i++) {
        if (read_string(blob, size, &at, &len) || put_bulk(out, (const char *)blob + at, len))
            return -1;
        at += len;
    }
    return 0;
}

static PyObject *entries_resp(PyObject *self, PyObject *positions)
{
    if (!PyList_Check(positions)) {
        PyErr_SetString(PyExc_TypeError, "entries_resp() takes a list of (node, index) pairs");
        return NULL;
    }
    Out out = {NULL, 0, 0};
    NodeView view;
    view.node = NULL;
    Py_ssize_t count = PyList_GET_SIZE(positions);
    if (put_header(&out, '*', (uint64_t)count))
        goto fail;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyList_GET_ITEM(positions, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "entries_resp() takes a list of (node, index) pairs");
            goto fail;
        }
        PyObject *node = PyTuple_GET_ITEM(pair, 0);
        Py_ssize_t index = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 1));
        if (index == -1 && PyErr_Occurred())
            goto fail;
        if (node != view.node) {
            view_close(&view);
            if (view_open(&view, node))
                goto fail;
        }
        if (write_entry(&out, &view, index))
            goto fail;
    }
    view_close(&view);
    PyObject *result = PyBytes_FromStringAndSize(out.data, (Py_ssize_t)out.len);
    PyMem_Free(out.data);
    return result;
fail:
    view_close(&view);
    PyMem_Free(out.data);
    return NULL;
}

static PyMethodDef methods[] = {
    {"entries_resp", entries_resp, METH_O,
     "entries_resp(positions) -> bytes: the entries at (node, index) positions as RESP"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "zyst.types.streamresp",
    "Stream entries written as a RESP range reply from the nodes' bytes.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_streamresp(void)
{
    if (!(name_ids = PyUnicode_InternFromString("ids")) ||
        !(name_offsets = PyUnicode_InternFromString("offsets")) ||
        !(name_base = PyUnicode_InternFromString("base")) ||
        !(name_blob = PyUnicode_InternFromString("blob")) ||
        !(name_master = PyUnicode_InternFromString("master")))
        return NULL;
    return PyModule_Create(&module_def);
}
