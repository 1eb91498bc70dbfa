"""Redis's geohash: points on a sorted set's scores, distances and area searches (``geohash.c``,
``geohash_helper.c``), with the same doubles at every step so that scores, coordinates,
distances and the order of search results come out as Redis's.

A point is stored as a 52-bit score: longitude and latitude are each scaled to 26 bits over
Redis's ranges (longitude -180..180, latitude -85.05112878..85.05112878, the Web Mercator
limits) and interleaved, latitude in the even bits. Decoding gives the centre of the cell, so a
position read back is not the one written (Redis's well-known ``13.36138933897018433``).

Distances are haversine distances on a sphere of radius 6372797.560856 m. A search covers the
shape's bounding box with nine cells of one geohash precision (the centre's and its eight
neighbours, some dropped when they lie wholly outside), reads each cell's score range from the
sorted set in order, and keeps the points inside the shape: :func:`search_ranges` gives those
score ranges in Redis's order, :meth:`Shape.matches` the test.

Every formula keeps Redis's order of operations: a double computed otherwise can differ in its
last bit, which shows in the 17 digits Redis prints or flips a point on a search's edge.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    # mypyc's native 64-bit integer: a plain int to Python (annotations only). The bit
    # twiddling stays below 2**63 so that it runs on machine words, not on Python ints.
    from mypy_extensions import i64

LONG_MIN: Final = -180.0
LONG_MAX: Final = 180.0
LAT_MIN: Final = -85.05112878
LAT_MAX: Final = 85.05112878
STEP_MAX: Final = 26  # bits per coordinate: 52 bits in all, exact in a double

EARTH_RADIUS: Final = 6372797.560856  # metres (Redis's "quadratic mean radius")
MERCATOR_MAX: Final = 20037726.37
_D_R: Final = math.pi / 180.0
# See Shape.distance_to.
_MARGIN: Final = 1.000001

_MASK64: Final = (1 << 64) - 1

# The conversion factors to metres of the units a command may name.
UNITS: Final = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}

_BASE32: Final = b"0123456789bcdefghjkmnpqrstuvwxyz"

# The search loop in C (see geomatch.c), absent from a pure-Python install.
_Matcher = Callable[[list[float], float, float, float, bool, float, float], list[tuple[int, float]]]
_Collector = Callable[
    [
        list[float],
        list[bytes],
        list[tuple[float, bytes, float]],
        int,
        float,
        float,
        float,
        bool,
        float,
        float,
    ],
    None,
]
_c_matches: _Matcher | None
_c_collect: _Collector | None
try:
    from zyst.types.geomatch import collect as _compiled_collect
    from zyst.types.geomatch import matches as _compiled_matches

    _c_matches = _compiled_matches
    _c_collect = _compiled_collect
except ImportError:  # ZYST_PURE_PYTHON=1
    _c_matches = None
    _c_collect = None


def _spread(v: i64) -> i64:
    """The low 32 bits of ``v`` moved to the even bit positions."""
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def _squeeze(v: i64) -> i64:
    """The even bits of ``v`` (non-negative) packed into the low 32."""
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    return (v | (v >> 16)) & 0xFFFFFFFF


def in_limits(longitude: float, latitude: float) -> bool:
    """Whether a point can be indexed (Redis refuses the poles beyond the Mercator limits)."""
    return LONG_MIN <= longitude <= LONG_MAX and LAT_MIN <= latitude <= LAT_MAX


def encode(
    longitude: float,
    latitude: float,
    step: int,
    long_min: float = LONG_MIN,
    long_max: float = LONG_MAX,
    lat_min: float = LAT_MIN,
    lat_max: float = LAT_MAX,
) -> int:
    """The ``2 * step``-bit interleaved hash of a point (which must be :func:`in_limits`) over
    the given ranges. A coordinate at its range's maximum scales to ``2**step``, one bit more
    than the others, as in Redis."""
    lat_offset = (latitude - lat_min) / (lat_max - lat_min)
    long_offset = (longitude - long_min) / (long_max - long_min)
    lat_offset *= float(1 << step)
    long_offset *= float(1 << step)
    lat_bits: i64 = int(lat_offset)
    long_bits: i64 = int(long_offset)
    return _spread(lat_bits) | (_spread(long_bits) << 1)


def score_of(longitude: float, latitude: float) -> int:
    """The 52-bit score GEOADD stores for a point."""
    return encode(longitude, latitude, STEP_MAX)


def _cell(bits: i64, step: int) -> tuple[float, float, float, float]:
    """The cell of hash ``bits`` (at most 52 bits) at precision ``step``: (long_min, long_max,
    lat_min, lat_max)."""
    return _cell_of(_squeeze(bits), _squeeze(bits >> 1), step)


def _cell_of(ilat: i64, ilon: i64, step: int) -> tuple[float, float, float, float]:
    # (The cell numbers are below 2**32: exact as doubles, as C's ``ilato * 1.0``.)
    scale = float(1 << step)
    lat_scale = LAT_MAX - LAT_MIN
    long_scale = LONG_MAX - LONG_MIN
    return (
        LONG_MIN + (float(ilon) / scale) * long_scale,
        LONG_MIN + (float(ilon + 1) / scale) * long_scale,
        LAT_MIN + (float(ilat) / scale) * lat_scale,
        LAT_MIN + (float(ilat + 1) / scale) * lat_scale,
    )


def score_bits(score: float) -> int:
    """A score as C's conversion of a double to ``uint64_t`` gives it on x86-64 (what Redis
    decodes; a score ZADD set that GEOADD could not have made decodes to something all the
    same)."""
    if score < 9223372036854775808.0:
        if score <= -9223372036854775808.0:
            return 1 << 63  # the "integer indefinite" value
        return int(score) & _MASK64
    if score < 18446744073709551616.0:
        return int(score)
    return 0


def decode(score: float) -> tuple[float, float]:
    """The (longitude, latitude) a score stands for: its cell's centre, clamped to the
    limits."""
    if 0.0 <= score < 4.0e18:  # every score GEOADD makes: machine words all the way
        bits: i64 = int(score)
        cell = _cell_of(_squeeze(bits), _squeeze(bits >> 1), STEP_MAX)
    else:
        # (Only a score GEOADD cannot make: its halves taken apart below 2**63 first.)
        big = score_bits(score)
        even: i64 = big & 0x5555555555555555
        odd: i64 = (big >> 1) & 0x5555555555555555
        cell = _cell_of(_squeeze(even), _squeeze(odd), STEP_MAX)
    long_min, long_max, lat_min, lat_max = cell
    longitude = (long_min + long_max) / 2
    if longitude > LONG_MAX:
        longitude = LONG_MAX
    if longitude < LONG_MIN:
        longitude = LONG_MIN
    latitude = (lat_min + lat_max) / 2
    if latitude > LAT_MAX:
        latitude = LAT_MAX
    if latitude < LAT_MIN:
        latitude = LAT_MIN
    return longitude, latitude


def hash_string(score: float) -> bytes:
    """GEOHASH's 11 characters for a score: its point re-encoded over the standard geohash
    ranges (latitude -90..90), 52 bits in base32, the 11th character always ``0``."""
    longitude, latitude = decode(score)
    bits = encode(longitude, latitude, STEP_MAX, -180.0, 180.0, -90.0, 90.0)
    chars = bytearray(11)
    for i in range(10):
        chars[i] = _BASE32[(bits >> (52 - (i + 1) * 5)) & 0x1F]
    chars[10] = _BASE32[0]
    return bytes(chars)


def lat_distance(lat1: float, lat2: float) -> float:
    """The distance between two latitudes on one meridian."""
    return EARTH_RADIUS * abs(lat2 * _D_R - lat1 * _D_R)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """The haversine distance in metres between two points (degrees)."""
    lon1r = lon1 * _D_R
    lon2r = lon2 * _D_R
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = lat1 * _D_R
    lat2r = lat2 * _D_R
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS * math.asin(math.sqrt(a))


class Shape:
    """A search area: a circle of ``radius`` or a box of ``width`` by ``height`` (in the unit
    whose size in metres is ``conversion``) around (``longitude``, ``latitude``)."""

    __slots__ = ("box", "conversion", "height", "latitude", "longitude", "radius", "width")

    def __init__(
        self,
        longitude: float,
        latitude: float,
        conversion: float,
        radius: float = 0.0,
        width: float = 0.0,
        height: float = 0.0,
        box: bool = False,
    ) -> None:
        self.longitude = longitude
        self.latitude = latitude
        self.conversion = conversion
        self.radius = radius
        self.width = width
        self.height = height
        self.box = box

    def matches(self, scores: list[float]) -> list[tuple[int, float]]:
        """(index, distance in metres from the centre) of each of ``scores`` whose point lies
        in the shape, in order: by the C extension when there is one."""
        if _c_matches is not None:
            conversion = self.conversion
            return _c_matches(
                scores,
                self.longitude,
                self.latitude,
                self.radius * conversion,
                self.box,
                self.width * conversion / 2,
                self.height * conversion / 2,
            )
        return self.matches_portable(scores)

    def collect(
        self,
        scores: list[float],
        members: list[bytes],
        found: list[tuple[float, bytes, float]],
        limit: int,
    ) -> None:
        """Append ``(distance, member, score)`` to ``found`` for each of ``scores`` (with
        ``members`` parallel to them) whose point lies in the shape, in order, until ``found``
        holds ``limit`` points (0: no limit): by the C extension when there is one."""
        if _c_collect is not None:
            conversion = self.conversion
            _c_collect(
                scores,
                members,
                found,
                limit,
                self.longitude,
                self.latitude,
                self.radius * conversion,
                self.box,
                self.width * conversion / 2,
                self.height * conversion / 2,
            )
            return
        self.collect_portable(scores, members, found, limit)

    def collect_portable(
        self,
        scores: list[float],
        members: list[bytes],
        found: list[tuple[float, bytes, float]],
        limit: int,
    ) -> None:
        """:meth:`collect` in Python, from :meth:`matches_portable`."""
        for index, dist in self.matches_portable(scores):
            if limit and len(found) >= limit:
                return
            found.append((dist, members[index], scores[index]))

    def matches_portable(self, scores: list[float]) -> list[tuple[int, float]]:
        """:meth:`matches` in Python, the C extension's reference. The loop a search spends
        its time in: the decoding is written out (latitude first, which alone refuses most
        points of a circle), and every double is computed as Redis computes it."""
        found: list[tuple[int, float]] = []
        centre_lon = self.longitude
        centre_lat = self.latitude
        box = self.box
        radius = self.radius * self.conversion
        # A point farther north or south than the radius is outside a circle whatever its
        # longitude (a great circle is never shorter than the meridian arc between the two
        # latitudes): refused without the trigonometry, with margins (relative, and a
        # micrometre) far above the rounding of either formula, so no point Redis keeps is
        # lost.
        lat_limit = radius * _MARGIN + 0.000001
        half_width = self.width * self.conversion / 2
        half_height = self.height * self.conversion / 2
        if box:
            lat_limit = half_height
        centre_lat_r = centre_lat * _D_R
        scale = float(1 << STEP_MAX)
        lat_scale = LAT_MAX - LAT_MIN
        long_scale = LONG_MAX - LONG_MIN
        size: i64 = len(scores)
        index: i64 = 0
        while index < size:
            score = scores[index]
            if 0.0 <= score < 4.0e18:
                bits: i64 = int(score)
                ilat = _squeeze(bits)
                low = LAT_MIN + (float(ilat) / scale) * lat_scale
                high = LAT_MIN + (float(ilat + 1) / scale) * lat_scale
                latitude = (low + high) / 2
                if latitude > LAT_MAX:
                    latitude = LAT_MAX
                if latitude < LAT_MIN:
                    latitude = LAT_MIN
                ilon = _squeeze(bits >> 1)
                low = LONG_MIN + (float(ilon) / scale) * long_scale
                high = LONG_MIN + (float(ilon + 1) / scale) * long_scale
                longitude = (low + high) / 2
                if longitude > LONG_MAX:
                    longitude = LONG_MAX
                if longitude < LONG_MIN:
                    longitude = LONG_MIN
            else:
                longitude, latitude = decode(score)
            # lat_distance(latitude, centre_lat), as Redis's geohashGetLatDistance.
            arc = centre_lat_r - latitude * _D_R
            if arc < 0:
                arc = -arc
            if EARTH_RADIUS * arc > lat_limit:
                index += 1
                continue
            if box:
                if distance(longitude, latitude, centre_lon, latitude) > half_width:
                    index += 1
                    continue
                dist = distance(centre_lon, centre_lat, longitude, latitude)
            else:
                dist = distance(centre_lon, centre_lat, longitude, latitude)
                if dist > radius:
                    index += 1
                    continue
            found.append((index, dist))
            index += 1
        return found

    def distance_to(self, score: float) -> float:
        """:meth:`matches` for one point: its distance, or -1 when it is outside."""
        found = self.matches([score])
        return found[0][1] if found else -1.0

    def bounds(self) -> tuple[float, float, float, float]:
        """The bounding box: (long_min, lat_min, long_max, lat_max). Meridians converge, so
        the box is widest on the side nearer the equator."""
        if self.box:
            height = self.conversion * (self.height / 2)
            width = self.conversion * (self.width / 2)
        else:
            height = self.conversion * self.radius
            width = self.conversion * self.radius
        latitude = self.latitude
        lat_delta = (height / EARTH_RADIUS) / _D_R
        long_delta_top = (width / EARTH_RADIUS / math.cos((latitude + lat_delta) * _D_R)) / _D_R
        long_delta_bottom = (width / EARTH_RADIUS / math.cos((latitude - lat_delta) * _D_R)) / _D_R
        long_delta = long_delta_bottom if latitude < 0 else long_delta_top
        return (
            self.longitude - long_delta,
            latitude - lat_delta,
            self.longitude + long_delta,
            latitude + lat_delta,
        )


def estimate_step(range_meters: float, latitude: float) -> int:
    """The geohash precision whose cells are about as large as the search radius."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if latitude > 66 or latitude < -66:
        step -= 1
        if latitude > 80 or latitude < -80:
            step -= 1
    return min(max(step, 1), 26)


def _move(bits: i64, step: i64, dx: i64, dy: i64) -> i64:
    """The hash of the cell ``dx`` east and ``dy`` north of ``bits`` (each -1, 0 or 1) at
    precision ``step``, wrapping around at the range's ends. (Redis's masks are 64-bit; the
    hashes here have at most 52 bits, so their low parts do, in machine words.)"""
    x = bits & 0x000AAAAAAAAAAAAA  # longitude bits
    y = bits & 0x0005555555555555  # latitude bits
    shift = 64 - step * 2
    even = 0x5555555555555555 >> shift  # the even bits below 2 * step
    odd = 0x5555555555555555 >> (shift - 1)  # the odd ones (Redis's 0xAAAA... >> shift)
    if dx:
        x = x + (even + 1) if dx > 0 else (x | even) - (even + 1)
        x &= odd
    if dy:
        y = y + (odd + 1) if dy > 0 else (y | odd) - (odd + 1)
        y &= even
    return x | y


# Redis's order of the nine cells: the centre, then N S E W NE NW SE SW (as (dx, dy)).
_NEIGHBOURS: Final = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def search_ranges(shape: Shape) -> list[tuple[int, int]]:
    """The score ranges ``[min, max)`` a search of ``shape`` reads, in Redis's order: the
    cells covering the shape (``geohashCalculateAreasByShapeWGS84``), those wholly outside
    the bounding box left out, and a cell equal to the one read just before it skipped (with a
    huge radius neighbours wrap onto each other)."""
    min_lon, min_lat, max_lon, max_lat = shape.bounds()
    if shape.box:
        half_w = shape.width / 2
        half_h = shape.height / 2
        radius = math.sqrt(half_w * half_w + half_h * half_h)
    else:
        radius = shape.radius
    radius *= shape.conversion
    step = estimate_step(radius, shape.latitude)
    centre = encode(shape.longitude, shape.latitude, step)
    north = _cell(_move(centre, step, 0, 1), step)
    south = _cell(_move(centre, step, 0, -1), step)
    east = _cell(_move(centre, step, 1, 0), step)
    west = _cell(_move(centre, step, -1, 0), step)
    if step > 1 and (
        north[3] < max_lat or south[2] > min_lat or east[1] < max_lon or west[0] > min_lon
    ):
        # A neighbour does not reach the box's edge: one precision coarser.
        step -= 1
        centre = encode(shape.longitude, shape.latitude, step)
    cells: list[int | None] = [centre]
    cells += [_move(centre, step, dx, dy) for dx, dy in _NEIGHBOURS]
    if step >= 2:
        area = _cell(centre, step)
        # Indexes into cells: 1 N, 2 S, 3 E, 4 W, 5 NE, 6 NW, 7 SE, 8 SW.
        if area[2] < min_lat:
            cells[2] = cells[8] = cells[7] = None
        if area[3] > max_lat:
            cells[1] = cells[5] = cells[6] = None
        if area[0] < min_lon:
            cells[4] = cells[8] = cells[6] = None
        if area[1] > max_lon:
            cells[3] = cells[7] = cells[5] = None
    ranges: list[tuple[int, int]] = []
    shift = 52 - step * 2
    last: int | None = None
    for index, cell in enumerate(cells):
        if cell is None:
            continue
        # Redis compares with the last cell read only once that is not the centre (its
        # "last read" index starts at 0 and doubles as "none yet").
        if last is not None and last == cell:
            continue
        ranges.append((cell << shift, (cell + 1) << shift))
        if index:
            last = cell
    return ranges
