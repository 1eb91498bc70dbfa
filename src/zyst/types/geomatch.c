/* zyst.types.geomatch: which scores of a sorted set lie inside a search's circle or box, and
 * how far from its centre (the loop of a GEOSEARCH / GEORADIUS).
 *
 * Why this exists: a search decodes and measures every point of the geohash cells around its
 * shape, often ten times more than it keeps; compiled by mypyc that loop costs about 60 ns a
 * point, written in C about 10. The pure-Python code (zyst.types.geohash.Shape.matches) is
 * the reference and the fallback of a pure-Python install: both compute every double in
 * Redis's order (geohash.c, geohash_helper.c), so both agree with Redis to the last bit.
 * Floating-point contraction is turned off at build time (setup.py), as a plain x86-64 build
 * of Redis has no fused multiply-add either.
 *
 * matches(scores, lon, lat, radius, box, half_width, half_height) -> [(index, distance), ...]
 *     scores: a list of floats (a slice of the set's scores, in order); lon, lat: the centre;
 *     radius: a circle's radius in metres; box: true for a box, whose half_width and
 *     half_height (metres) are then used instead. Each point inside, in order, with its
 *     distance in metres from the centre.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

#define LONG_MIN_ -180.0
#define LONG_MAX_ 180.0
#define LAT_MIN_ -85.05112878
#define LAT_MAX_ 85.05112878
#define EARTH_RADIUS 6372797.560856
#define D_R (M_PI / 180.0)
/* See geohash.py's _MARGIN: the latitude test that refuses a point of a circle early. */
#define MARGIN 1.000001

static uint64_t squeeze(uint64_t v)
{
    v &= 0x5555555555555555ULL;
    v = (v | (v >> 1)) & 0x3333333333333333ULL;
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FFULL;
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFFULL;
    return (v | (v >> 16)) & 0x00000000FFFFFFFFULL;
}

static double lat_distance(double lat1, double lat2)
{
    return EARTH_RADIUS * fabs(lat2 * D_R - lat1 * D_R);
}

static double distance(double lon1, double lat1, double lon2, double lat2)
{
    double lon1r = lon1 * D_R, lon2r = lon2 * D_R;
    double v = sin((lon2r - lon1r) / 2);
    if (v == 0.0)
        return lat_distance(lat1, lat2);
    double lat1r = lat1 * D_R, lat2r = lat2 * D_R;
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS * asin(sqrt(a));
}

/* The point a score stands for: its cell's centre (52 bits, latitude in the even ones). */
static void decode(double score, double *lon, double *lat)
{
    uint64_t bits = (uint64_t)score; /* as Redis converts it, odd scores included */
    uint32_t ilat = (uint32_t)squeeze(bits);
    uint32_t ilon = (uint32_t)squeeze(bits >> 1);
    double scale = (double)(1ULL << 26);
    double lat_scale = LAT_MAX_ - LAT_MIN_, long_scale = LONG_MAX_ - LONG_MIN_;
    double lat_min = LAT_MIN_ + (ilat * 1.0 / scale) * lat_scale;
    double lat_max = LAT_MIN_ + ((ilat + 1) * 1.0 / scale) * lat_scale;
    double lon_min = LONG_MIN_ + (ilon * 1.0 / scale) * long_scale;
    double lon_max = LONG_MIN_ + ((ilon + 1) * 1.0 / scale) * long_scale;
    double x = (lon_min + lon_max) / 2, y = (lat_min + lat_max) / 2;
    if (x > LONG_MAX_) x = LONG_MAX_;
    if (x < LONG_MIN_) x = LONG_MIN_;
    if (y > LAT_MAX_) y = LAT_MAX_;
    if (y < LAT_MIN_) y = LAT_MIN_;
    *lon = x;
    *lat = y;
}

static PyObject *matches(PyObject *self, PyObject *args)
{
    PyObject *scores;
    double lon, lat, radius, half_width, half_height;
    int box;
    if (!PyArg_ParseTuple(args, "O!dddpdd", &PyList_Type, &scores, &lon, &lat, &radius, &box,
                          &half_width, &half_height))
        return NULL;
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    double lat_limit = box ? half_height : radius * MARGIN + 0.000001;
    Py_ssize_t size = PyList_GET_SIZE(scores);
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *item = PyList_GET_ITEM(scores, i);
        double score = PyFloat_Check(item) ? PyFloat_AS_DOUBLE(item) : PyFloat_AsDouble(item);
        if (score == -1.0 && PyErr_Occurred())
            goto fail;
        double x, y, dist;
        decode(score, &x, &y);
        if (lat_distance(y, lat) > lat_limit)
            continue;
        if (box) {
            if (distance(x, y, lon, y) > half_width)
                continue;
            dist = distance(lon, lat, x, y);
        } else {
            dist = distance(lon, lat, x, y);
            if (dist > radius)
                continue;
        }
        PyObject *pair = Py_BuildValue("(nd)", i, dist);
        if (pair == NULL)
            goto fail;
        int failed = PyList_Append(found, pair);
        Py_DECREF(pair);
        if (failed)
            goto fail;
    }
    return found;
fail:
    Py_DECREF(found);
    return NULL;
}

static PyMethodDef methods[] = {
    {"matches", matches, METH_VARARGS,
     "matches(scores, lon, lat, radius, box, half_width, half_height) -> [(index, distance)]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "zyst.types.geomatch",
    "The points of a geo search's cells that lie inside its shape.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_geomatch(void)
{
    return PyModule_Create(&module_def);
}
