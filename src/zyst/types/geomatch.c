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
 *
 * collect(scores, members, found, limit, lon, lat, radius, box, half_width, half_height)
 *     The same test, appending ``(distance, member, score)`` to the list ``found`` for each
 *     point inside (members: the slice of member names parallel to scores), until ``found``
 *     holds ``limit`` points (0: no limit). The score objects are the set's own.
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

/* A search: its centre and shape, with what every point's test reuses. */
typedef struct {
    double lon, lat, radius, half_width, half_height, lat_limit, cos_lat;
    int box;
} Search;

static void search_init(Search *search, double lon, double lat, double radius, int box,
                        double half_width, double half_height)
{
    search->lon = lon;
    search->lat = lat;
    search->radius = radius;
    search->box = box;
    search->half_width = half_width;
    search->half_height = half_height;
    search->lat_limit = box ? half_height : radius * MARGIN + 0.000001;
    search->cos_lat = cos(lat * D_R);
}

/* distance(search->lon, search->lat, lon2, lat2), the centre's cosine computed once (the
 * same double: cos of the same argument). */
static double distance_from_centre(const Search *search, double lon2, double lat2)
{
    double lon1r = search->lon * D_R, lon2r = lon2 * D_R;
    double v = sin((lon2r - lon1r) / 2);
    if (v == 0.0)
        return lat_distance(search->lat, lat2);
    double lat1r = search->lat * D_R, lat2r = lat2 * D_R;
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + search->cos_lat * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS * asin(sqrt(a));
}

/* Whether the point of ``score`` lies in the search's shape; its distance in *dist if so. */
static int inside(const Search *search, double score, double *dist)
{
    double x, y;
    decode(score, &x, &y);
    if (lat_distance(y, search->lat) > search->lat_limit)
        return 0;
    if (search->box) {
        if (distance(x, y, search->lon, y) > search->half_width)
            return 0;
        *dist = distance_from_centre(search, x, y);
        return 1;
    }
    *dist = distance_from_centre(search, x, y);
    return !(*dist > search->radius);
}

static int score_at(PyObject *scores, Py_ssize_t i, double *score)
{
    PyObject *item = PyList_GET_ITEM(scores, i);
    *score = PyFloat_Check(item) ? PyFloat_AS_DOUBLE(item) : PyFloat_AsDouble(item);
    return *score == -1.0 && PyErr_Occurred() ? -1 : 0;
}

static PyObject *matches(PyObject *self, PyObject *args)
{
    PyObject *scores;
    double lon, lat, radius, half_width, half_height;
    int box;
    if (!PyArg_ParseTuple(args, "O!dddpdd", &PyList_Type, &scores, &lon, &lat, &radius, &box,
                          &half_width, &half_height))
        return NULL;
    Search search;
    search_init(&search, lon, lat, radius, box, half_width, half_height);
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    Py_ssize_t size = PyList_GET_SIZE(scores);
    for (Py_ssize_t i = 0; i < size; i++) {
        double score, dist;
        if (score_at(scores, i, &score))
            goto fail;
        if (!inside(&search, score, &dist))
            continue;
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

static PyObject *collect(PyObject *self, PyObject *args)
{
    PyObject *scores, *members, *found;
    Py_ssize_t limit;
    double lon, lat, radius, half_width, half_height;
    int box;
    if (!PyArg_ParseTuple(args, "O!O!O!ndddpdd", &PyList_Type, &scores, &PyList_Type, &members,
                          &PyList_Type, &found, &limit, &lon, &lat, &radius, &box, &half_width,
                          &half_height))
        return NULL;
    Py_ssize_t size = PyList_GET_SIZE(scores);
    if (PyList_GET_SIZE(members) != size) {
        PyErr_SetString(PyExc_ValueError, "collect() needs as many members as scores");
        return NULL;
    }
    Search search;
    search_init(&search, lon, lat, radius, box, half_width, half_height);
    for (Py_ssize_t i = 0; i < size; i++) {
        if (limit > 0 && PyList_GET_SIZE(found) >= limit)
            break;
        double score, dist;
        if (score_at(scores, i, &score))
            return NULL;
        if (!inside(&search, score, &dist))
            continue;
        PyObject *point = PyTuple_New(3);
        if (point == NULL)
            return NULL;
        PyObject *distance_obj = PyFloat_FromDouble(dist);
        if (distance_obj == NULL) {
            Py_DECREF(point);
            return NULL;
        }
        PyObject *member = PyList_GET_ITEM(members, i);
        PyObject *score_obj = PyList_GET_ITEM(scores, i);
        Py_INCREF(member);
        Py_INCREF(score_obj);
        PyTuple_SET_ITEM(point, 0, distance_obj);
        PyTuple_SET_ITEM(point, 1, member);
        PyTuple_SET_ITEM(point, 2, score_obj);
        int failed = PyList_Append(found, point);
        Py_DECREF(point);
        if (failed)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"matches", matches, METH_VARARGS,
     "matches(scores, lon, lat, radius, box, half_width, half_height) -> [(index, distance)]"},
    {"collect", collect, METH_VARARGS,
     "collect(scores, members, found, limit, lon, lat, radius, box, half_width, half_height)"},
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
