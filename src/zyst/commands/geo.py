"""Geospatial commands (Redis's ``geo.c``): GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH,
GEOSEARCHSTORE, and the older GEORADIUS and GEORADIUSBYMEMBER with their ``_RO`` forms.

A geospatial index is a plain sorted set whose scores are :mod:`zyst.types.geohash` scores:
GEOADD is ZADD with scores computed from the coordinates (it runs ZADD's own code and is
propagated as that ZADD, publishing ``zadd``, as Redis does), and every other sorted-set
command works on the same key.

Numbers print as Redis prints them: coordinates in the human form of ``%.17Lf`` (trailing zeros
dropped; a RESP3 double carrying that text), distances with four decimals (a bulk string in
both protocols), hashes as integers.

Searches (Redis's ``georadiusGeneric``): the source key is looked up (and its type checked)
first, then the arguments are read in Redis's order, so each bad command gets Redis's error.
Points are collected cell by cell in :func:`zyst.types.geohash.search_ranges`' order, each cell
in the set's order; sorted by distance only when asked (COUNT without ANY asks for ASC): all of
them stably, as glibc's qsort (a merge sort) does, or with a COUNT smaller than the matches,
by Redis's own partial quicksort (:mod:`zyst.pqsort`), which orders equal distances its own
way.

Propagation: GEOADD as ``zadd key [options] score member ...``; the storing searches
(GEOSEARCHSTORE, GEORADIUS and GEORADIUSBYMEMBER with STORE or STOREDIST) as sent, publishing
``geosearchstore`` / ``georadiusstore`` on the destination, or ``del`` when an empty result
removed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.commands import zsets
from zyst.commands.args import option_word, parse_int
from zyst.commands.table import GetKeys, Handler, KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.numbers import parse_double
from zyst.pqsort import pqsort
from zyst.protocol.resp import NULL_ARRAY, HumanDouble
from zyst.types import geohash
from zyst.types.geohash import Shape
from zyst.types.zset import ScoreRange, ZSet

if TYPE_CHECKING:
    from zyst.client import Client

_RO_ACCESS: Final = (KeySpec(flags=("RO", "access")),)
_SEARCH_COMPLEXITY: Final = (
    "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area "
    "around the shape provided as the filter and M is the number of items inside the shape"
)
_RADIUS_COMPLEXITY: Final = (
    "O(N+log(M)) where N is the number of elements inside the bounding box of the circular "
    "area delimited by center and radius and M is the number of items inside the index."
)

# How a search names its centre and what it accepts (Redis's flags of georadiusGeneric).
_COORDS: Final = 1  # GEORADIUS: longitude latitude radius unit
_MEMBER: Final = 2  # GEORADIUSBYMEMBER: member radius unit
_NOSTORE: Final = 4  # the _RO forms: no STORE / STOREDIST
_SEARCH: Final = 8  # GEOSEARCH: FROMMEMBER / FROMLONLAT, BYRADIUS / BYBOX
_SEARCHSTORE: Final = 16  # GEOSEARCHSTORE: destination first, STOREDIST a flag

_ASC: Final = 1
_DESC: Final = 2


def _geo_command(
    name: str,
    arity: int,
    flags: tuple[str, ...],
    summary: str,
    since: str,
    syntax: str,
    complexity: str,
    keys: tuple[int, int, int] = (1, 1, 1),
    key_specs: tuple[KeySpec, ...] = _RO_ACCESS,
    getkeys: GetKeys | None = None,
) -> Callable[[Handler], Handler]:
    """Declare a geo command: ACL categories read or write, geo, slow (as all of them are)."""
    return command(
        name,
        arity=arity,
        flags=flags,
        keys=keys,
        group="geo",
        summary=summary,
        since=since,
        syntax=syntax,
        complexity=complexity,
        acl_categories=("write" if "write" in flags else "read", "geo", "slow"),
        key_specs=key_specs,
        getkeys=getkeys,
    )


# -- numbers out ------------------------------------------------------------------------------
def human(value: float) -> bytes:
    """``value`` as Redis's human long double form: ``%.17Lf`` (the double widened, so its
    digits are the double's exact ones), trailing zeros and a bare point dropped, ``-0`` as
    ``0``."""
    text = (b"%.17f" % value).rstrip(b"0")
    if text.endswith(b"."):
        text = text[:-1]
    return b"0" if text == b"-0" else text


def fixed4(value: float) -> bytes:
    """A distance as Redis writes it: rounded to four decimals (``llrint`` of the value times
    10000, ties to even), always four of them."""
    if value == 0:
        return b"0.0000"
    scaled = round(value * 10000.0)
    sign = b"-" if scaled < 0 else b""
    scaled = abs(scaled)
    return b"%s%d.%04d" % (sign, scaled // 10000, scaled % 10000)


def _position(longitude: float, latitude: float) -> list[HumanDouble]:
    return [HumanDouble(human(longitude)), HumanDouble(human(latitude))]


# -- arguments in -----------------------------------------------------------------------------
def _coordinate(raw: bytes) -> float | None:
    """A coordinate as Redis reads a double (``getDoubleFromObject``). A plain decimal
    (``-13.361389``), what clients send, is read by Python's ``float``: correctly rounded, as
    strtod, so the same double, and several times faster than the general reader."""
    size = len(raw)
    if 0 < size <= 24:
        digits = 0
        points = 0
        for index in range(size):
            byte = raw[index]
            if 48 <= byte <= 57:
                digits += 1
            elif byte == 46:  # "."
                points += 1
            elif byte != 45 or index:  # "-" only first
                digits = 0
                break
        if digits and points <= 1:
            return float(raw)
    return parse_double(raw)


def _lonlat(raw_lon: bytes, raw_lat: bytes) -> tuple[float, float]:
    """A longitude and a latitude, both parsed before either is checked against the limits."""
    longitude = _coordinate(raw_lon)
    if longitude is None:
        raise CommandError(errors.NOT_FLOAT)
    latitude = _coordinate(raw_lat)
    if latitude is None:
        raise CommandError(errors.NOT_FLOAT)
    if not geohash.in_limits(longitude, latitude):
        raise CommandError(errors.geo_invalid_pair(longitude, latitude))
    return longitude, latitude


def _unit(raw: bytes) -> float:
    """The size in metres of the unit ``raw`` names (M, KM, FT, MI in any case)."""
    factor = geohash.UNITS.get(option_word(raw))
    if factor is None:
        raise CommandError(errors.GEO_UNSUPPORTED_UNIT)
    return factor


def _radius(raw: bytes, raw_unit: bytes) -> tuple[float, float]:
    """``radius unit``: (radius, metres per unit)."""
    radius = parse_double(raw)
    if radius is None:
        raise CommandError(errors.GEO_NEED_RADIUS)
    if radius < 0:
        raise CommandError(errors.GEO_RADIUS_NEGATIVE)
    return radius, _unit(raw_unit)


def _box(raw_width: bytes, raw_height: bytes, raw_unit: bytes) -> tuple[float, float, float]:
    """``width height unit``: (width, height, metres per unit)."""
    width = parse_double(raw_width)
    if width is None:
        raise CommandError(errors.GEO_NEED_WIDTH)
    height = parse_double(raw_height)
    if height is None:
        raise CommandError(errors.GEO_NEED_HEIGHT)
    if height < 0 or width < 0:
        raise CommandError(errors.GEO_BOX_NEGATIVE)
    return width, height, _unit(raw_unit)


def _member_position(zset: ZSet, member: bytes) -> tuple[float, float]:
    score = zset.scores.get(member)
    if score is None:
        raise CommandError(errors.GEO_MEMBER_UNKNOWN)
    return geohash.decode(score)


# -- GEOADD -----------------------------------------------------------------------------------
@_geo_command(
    "geoadd",
    arity=-5,
    flags=("write", "denyoom"),
    summary="Add one or more geospatial items in the geospatial index represented using a "
    "sorted set",
    since="3.2.0",
    syntax="key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]",
    complexity="O(log(N)) for each item added, where N is the number of elements in the sorted "
    "set.",
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def geoadd(client: Client, argv: list[bytes]) -> Reply:
    """GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]

    ZADD of the points' scores with the same options: replies the number of members added
    (added or moved with CH). Every coordinate is checked before anything is added.
    """
    first = 2
    size = len(argv)
    nx = xx = False
    while first < size:
        word = option_word(argv[first])
        if word == b"nx":
            nx = True
        elif word == b"xx":
            xx = True
        elif word != b"ch":
            break
        first += 1
    if (size - first) % 3 or (nx and xx):
        raise CommandError(errors.SYNTAX)
    points: list[int] = []
    for index in range(first, size, 3):
        longitude, latitude = _lonlat(argv[index], argv[index + 1])
        points.append(geohash.score_of(longitude, latitude))
    # ZADD's own code, on ZADD's arguments with the scores in place of the coordinates (their
    # texts are made only for the propagated command).
    zadd_argv = [b"zadd", argv[1]]
    zadd_argv += [option_word(option) for option in argv[2:first]]  # (ZADD's reading of them)
    for index in range(first, size, 3):
        zadd_argv.append(b"")
        zadd_argv.append(argv[index + 2])
    ctx = client.ctx
    dirty = ctx.dirty
    reply = zsets.zadd_scored(client, zadd_argv, [float(score) for score in points])
    if ctx.dirty != dirty and ctx.propagating:
        zadd_argv[2:first] = argv[2:first]  # the options as sent, as Redis propagates them
        for point, score in enumerate(points):
            zadd_argv[first + 2 * point] = b"%d" % score
        client.propagate_as = [zadd_argv]
    return reply


# -- GEOPOS / GEOHASH / GEODIST ---------------------------------------------------------------
@_geo_command(
    "geopos",
    arity=-2,
    flags=("readonly",),
    summary="Returns longitude and latitude of members of a geospatial index",
    since="3.2.0",
    syntax="key member [member ...]",
    complexity="O(N) where N is the number of members requested.",
)
def geopos(client: Client, argv: list[bytes]) -> Reply:
    """GEOPOS key [member ...]

    One ``[longitude, latitude]`` per member, a null array for a missing one.
    """
    zset: ZSet | None = client.db.get_typed(argv[1], ZSet)
    replies: list[object] = []
    for member in argv[2:]:
        score = None if zset is None else zset.scores.get(member)
        if score is None:
            replies.append(NULL_ARRAY)
        else:
            replies.append(_position(*geohash.decode(score)))
    return replies


@_geo_command(
    "geohash",
    arity=-2,
    flags=("readonly",),
    summary="Returns members of a geospatial index as standard geohash strings",
    since="3.2.0",
    syntax="key member [member ...]",
    complexity="O(log(N)) for each member requested, where N is the number of elements in the "
    "sorted set.",
)
def geohash_command(client: Client, argv: list[bytes]) -> Reply:
    """GEOHASH key [member ...]

    One 11-character standard geohash per member (latitude over -90..90), null for a missing
    one.
    """
    zset: ZSet | None = client.db.get_typed(argv[1], ZSet)
    replies: list[bytes | None] = []
    for member in argv[2:]:
        score = None if zset is None else zset.scores.get(member)
        replies.append(None if score is None else geohash.hash_string(score))
    return replies


@_geo_command(
    "geodist",
    arity=-4,
    flags=("readonly",),
    summary="Returns the distance between two members of a geospatial index",
    since="3.2.0",
    syntax="key member1 member2 [M | KM | FT | MI]",
    complexity="O(log(N))",
)
def geodist(client: Client, argv: list[bytes]) -> Reply:
    """GEODIST key member1 member2 [M | KM | FT | MI]

    The distance (metres by default) with four decimals; null when the key or a member is
    missing. The unit is checked before the key.
    """
    factor = 1.0
    if len(argv) == 5:
        factor = _unit(argv[4])
    elif len(argv) > 5:
        raise CommandError(errors.SYNTAX)
    zset: ZSet | None = client.db.get_typed(argv[1], ZSet)
    if zset is None:
        return None
    first = zset.scores.get(argv[2])
    second = zset.scores.get(argv[3])
    if first is None or second is None:
        return None
    lon1, lat1 = geohash.decode(first)
    lon2, lat2 = geohash.decode(second)
    return fixed4(geohash.distance(lon1, lat1, lon2, lat2) / factor)


# -- searches ---------------------------------------------------------------------------------
class _Search:
    """One search's arguments, read as ``georadiusGeneric`` reads them."""

    __slots__ = (
        "any",
        "by_box",
        "by_radius",
        "count",
        "from_lonlat",
        "from_member",
        "shape",
        "sort",
        "store_dist",
        "store_key",
        "with_coord",
        "with_dist",
        "with_hash",
    )

    def __init__(self) -> None:
        self.shape = Shape(0.0, 0.0, 1.0)
        self.store_key: bytes | None = None
        self.store_dist = False
        self.with_dist = self.with_hash = self.with_coord = False
        self.from_member = self.from_lonlat = self.by_radius = self.by_box = False
        self.sort = 0
        self.any = False
        self.count = 0

    def options(self, argv: list[bytes], base: int, flags: int, zset: ZSet | None) -> None:
        """The words from ``argv[base]`` on. A word whose arguments are missing, or that this
        command does not take, is a syntax error."""
        shape = self.shape
        size = len(argv)
        i = base
        while i < size:
            word = option_word(argv[i])
            left = size - i - 1  # arguments after the word
            searching = flags & _SEARCH != 0
            storing = not flags & (_NOSTORE | _SEARCH)
            if word == b"withdist":
                self.with_dist = True
            elif word == b"withhash":
                self.with_hash = True
            elif word == b"withcoord":
                self.with_coord = True
            elif word == b"any":
                self.any = True
            elif word == b"asc":
                self.sort = _ASC
            elif word == b"desc":
                self.sort = _DESC
            elif word == b"count" and left >= 1:
                self.count = parse_int(argv[i + 1])
                if self.count <= 0:
                    raise CommandError(errors.GEO_COUNT_NOT_POSITIVE)
                i += 1
            elif (word == b"store" or word == b"storedist") and left >= 1 and storing:
                self.store_key = argv[i + 1]
                self.store_dist = word == b"storedist"
                i += 1
            elif word == b"storedist" and flags & _SEARCHSTORE:
                self.store_dist = True
            elif word == b"frommember" and left >= 1 and searching and not self.from_lonlat:
                if zset is not None:
                    shape.longitude, shape.latitude = _member_position(zset, argv[i + 1])
                self.from_member = True
                i += 1
            elif word == b"fromlonlat" and left >= 2 and searching and not self.from_member:
                shape.longitude, shape.latitude = _lonlat(argv[i + 1], argv[i + 2])
                self.from_lonlat = True
                i += 2
            elif word == b"byradius" and left >= 2 and searching and not self.by_box:
                shape.radius, shape.conversion = _radius(argv[i + 1], argv[i + 2])
                shape.box = False
                self.by_radius = True
                i += 2
            elif word == b"bybox" and left >= 3 and searching and not self.by_radius:
                shape.width, shape.height, shape.conversion = _box(
                    argv[i + 1], argv[i + 2], argv[i + 3]
                )
                shape.box = True
                self.by_box = True
                i += 3
            else:
                raise CommandError(errors.SYNTAX)
            i += 1


def _search(client: Client, argv: list[bytes], source: int, flags: int) -> Reply:
    """Redis's ``georadiusGeneric``: the search named by ``flags`` with its source key at
    ``argv[source]``."""
    db = client.db
    zset: ZSet | None = db.get_typed(argv[source], ZSet)
    search = _Search()
    shape = search.shape
    if flags & _COORDS:
        base = 6
        shape.longitude, shape.latitude = _lonlat(argv[2], argv[3])
        shape.radius, shape.conversion = _radius(argv[4], argv[5])
    elif flags & _MEMBER:
        base = 5
        if zset is not None:  # else the options are read all the same, to pick the reply
            shape.longitude, shape.latitude = _member_position(zset, argv[2])
            shape.radius, shape.conversion = _radius(argv[3], argv[4])
    else:
        base = 2
        if flags & _SEARCHSTORE:
            base = 3
            search.store_key = argv[1]
    search.options(argv, base, flags, zset)

    store_key = search.store_key
    if store_key is not None and (search.with_dist or search.with_hash or search.with_coord):
        what = "GEOSEARCHSTORE" if flags & _SEARCHSTORE else "STORE option in GEORADIUS"
        raise CommandError(errors.geo_store_with_options(what))
    if flags & _SEARCH:
        name = argv[0].decode("latin-1")
        if not (search.from_member or search.from_lonlat):
            raise CommandError(errors.geo_need_from(name))
        if not (search.by_radius or search.by_box):
            raise CommandError(errors.geo_need_by(name))
    if search.any and not search.count:
        raise CommandError(errors.GEO_ANY_WITHOUT_COUNT)

    if zset is None:
        if store_key is None:
            return []
        if db.delete_stored(store_key):
            _stored(client, store_key, 1)
        return 0

    count = search.count
    if count and not search.sort and not search.any:
        search.sort = _ASC  # the nearest COUNT
    found = _points(zset, shape, count if search.any else 0)
    if not found and store_key is None:
        return []
    returned = len(found) if count == 0 or len(found) < count else count
    if search.sort:
        descending = search.sort == _DESC
        if returned == len(found):
            # glibc's qsort, a merge sort: stable (equal distances keep the cells' order).
            found.sort(key=_distance_of, reverse=descending)
        else:
            pqsort(found, _farther if descending else _nearer, 0, returned - 1)
    conversion = shape.conversion

    if store_key is not None:
        result = ZSet()
        for index in range(returned):
            point = found[index]
            result.add(point[1], point[0] / conversion if search.store_dist else point[2])
        if returned:
            zsets.store_result(client, store_key, result)
            _stored(client, store_key, returned - 1)  # (store counted one change)
        elif db.delete_stored(store_key):
            _stored(client, store_key, 1)
        return returned

    replies: list[object] = []
    extras = search.with_dist or search.with_hash or search.with_coord
    for index in range(returned):
        dist, member, score = found[index]
        if not extras:
            replies.append(member)
            continue
        entry: list[object] = [member]
        if search.with_dist:
            entry.append(fixed4(dist / conversion))
        if search.with_hash:
            entry.append(int(score))
        if search.with_coord:
            entry.append(_position(*geohash.decode(score)))
        replies.append(entry)
    return replies


# (distance in metres, member, score)
_Point = tuple[float, bytes, float]


def _distance_of(point: _Point) -> float:
    return point[0]


def _nearer(a: _Point, b: _Point) -> int:
    """Redis's ``sort_gp_asc``."""
    if a[0] > b[0]:
        return 1
    return 0 if a[0] == b[0] else -1


def _farther(a: _Point, b: _Point) -> int:
    return -_nearer(a, b)


def _points(zset: ZSet, shape: Shape, limit: int) -> list[_Point]:
    """The points of ``zset`` inside ``shape``, cell by cell in Redis's order; with a
    ``limit`` (ANY), the first ``limit`` of them."""
    found: list[_Point] = []
    for low, high in geohash.search_ranges(shape):
        if limit and len(found) >= limit:
            break
        start, stop = zset.score_span(ScoreRange(float(low), False, float(high), True))
        if start >= stop:
            continue
        shape.collect(zset.score_list(start, stop), zset.members(start, stop), found, limit)
    return found


def _stored(client: Client, key: bytes, changes: int) -> None:
    """A search wrote (or deleted) ``key``: count the changes, and name the key for the
    key-modified signal (GEORADIUS's destination is found by a keyword, not a position)."""
    client.ctx.dirty += changes
    client.touched = [(client.db.index, key)]


def _keyword_key(argv: list[bytes], word: bytes, start: int) -> list[bytes]:
    """The key after the first ``word`` from ``argv[start]`` on, as Redis's keyword key spec
    finds it (its search stops before the last argument, which could not be followed by a
    key)."""
    for i in range(start, len(argv) - 1):
        if option_word(argv[i]) == word:
            return [argv[i + 1]]
    return []


def _radius_keys(start: int) -> GetKeys:
    """GEORADIUS's and GEORADIUSBYMEMBER's keys for COMMAND GETKEYS and the ACL checks, as
    Redis 7.0 finds them by their key specs: the source, then the key after the first STORE,
    then the one after the first STOREDIST (``start``: where options begin)."""

    def keys(argv: list[bytes]) -> list[bytes]:
        return [
            argv[1],
            *_keyword_key(argv, b"store", start),
            *_keyword_key(argv, b"storedist", start),
        ]

    return keys


def _store_specs(start: int) -> tuple[KeySpec, ...]:
    return (
        KeySpec(flags=("RO", "access"), index=1, lastkey=0),
        KeySpec(flags=("OW", "update"), keyword="STORE", startfrom=start, lastkey=0, step=1),
        KeySpec(flags=("OW", "update"), keyword="STOREDIST", startfrom=start, lastkey=0, step=1),
    )


_SEARCH_OPTIONS: Final = "[WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]"
_STORE_OPTIONS: Final = "[STORE key] [STOREDIST key]"


@_geo_command(
    "georadius",
    arity=-6,
    flags=("write", "denyoom", "movablekeys"),
    summary="Query a sorted set representing a geospatial index to fetch members matching a "
    "given maximum distance from a point",
    since="3.2.0",
    syntax=f"key longitude latitude radius <M | KM | FT | MI> {_SEARCH_OPTIONS} {_STORE_OPTIONS}",
    complexity=_RADIUS_COMPLEXITY,
    key_specs=_store_specs(6),
    getkeys=_radius_keys(6),
)
def georadius(client: Client, argv: list[bytes]) -> Reply:
    """GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
    [COUNT count [ANY]] [ASC | DESC] [STORE key] [STOREDIST key]"""
    return _search(client, argv, 1, _COORDS)


@_geo_command(
    "georadius_ro",
    arity=-6,
    flags=("readonly",),
    summary="A read-only variant for GEORADIUS",
    since="3.2.10",
    syntax=f"key longitude latitude radius <M | KM | FT | MI> {_SEARCH_OPTIONS}",
    complexity=_RADIUS_COMPLEXITY,
)
def georadius_ro(client: Client, argv: list[bytes]) -> Reply:
    """GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
    [COUNT count [ANY]] [ASC | DESC]"""
    return _search(client, argv, 1, _COORDS | _NOSTORE)


@_geo_command(
    "georadiusbymember",
    arity=-5,
    flags=("write", "denyoom", "movablekeys"),
    summary="Query a sorted set representing a geospatial index to fetch members matching a "
    "given maximum distance from a member",
    since="3.2.0",
    syntax=f"key member radius <M | KM | FT | MI> {_SEARCH_OPTIONS} {_STORE_OPTIONS}",
    complexity=_RADIUS_COMPLEXITY,
    key_specs=_store_specs(5),
    getkeys=_radius_keys(5),
)
def georadiusbymember(client: Client, argv: list[bytes]) -> Reply:
    """GEORADIUSBYMEMBER key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
    [COUNT count [ANY]] [ASC | DESC] [STORE key] [STOREDIST key]"""
    return _search(client, argv, 1, _MEMBER)


@_geo_command(
    "georadiusbymember_ro",
    arity=-5,
    flags=("readonly",),
    summary="A read-only variant for GEORADIUSBYMEMBER",
    since="3.2.10",
    syntax=f"key member radius <M | KM | FT | MI> {_SEARCH_OPTIONS}",
    complexity=_RADIUS_COMPLEXITY,
)
def georadiusbymember_ro(client: Client, argv: list[bytes]) -> Reply:
    """GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
    [COUNT count [ANY]] [ASC | DESC]"""
    return _search(client, argv, 1, _MEMBER | _NOSTORE)


_FROM_BY: Final = (
    "<FROMMEMBER member | FROMLONLAT longitude latitude> "
    "<BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>>"
)


@_geo_command(
    "geosearch",
    arity=-7,
    flags=("readonly",),
    summary="Query a sorted set representing a geospatial index to fetch members inside an "
    "area of a box or a circle.",
    since="6.2.0",
    syntax=f"key {_FROM_BY} [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]",
    complexity=_SEARCH_COMPLEXITY,
)
def geosearch(client: Client, argv: list[bytes]) -> Reply:
    """GEOSEARCH key <FROMMEMBER member | FROMLONLAT longitude latitude>
    <BYRADIUS radius unit | BYBOX width height unit> [ASC | DESC] [COUNT count [ANY]]
    [WITHCOORD] [WITHDIST] [WITHHASH]"""
    return _search(client, argv, 1, _SEARCH)


@_geo_command(
    "geosearchstore",
    arity=-8,
    flags=("write", "denyoom"),
    summary="Query a sorted set representing a geospatial index to fetch members inside an "
    "area of a box or a circle, and store the result in another key.",
    since="6.2.0",
    syntax=f"destination source {_FROM_BY} [ASC | DESC] [COUNT count [ANY]] [STOREDIST]",
    complexity=_SEARCH_COMPLEXITY,
    keys=(1, 2, 1),
    key_specs=(
        KeySpec(flags=("OW", "update"), index=1, lastkey=0),
        KeySpec(flags=("RO", "access"), index=2, lastkey=0),
    ),
)
def geosearchstore(client: Client, argv: list[bytes]) -> Reply:
    """GEOSEARCHSTORE destination source <FROMMEMBER member | FROMLONLAT longitude latitude>
    <BYRADIUS radius unit | BYBOX width height unit> [ASC | DESC] [COUNT count [ANY]]
    [STOREDIST]

    The number of members stored at ``destination`` (scores: the source's, or the distances
    in the unit with STOREDIST); an empty result deletes ``destination``.
    """
    return _search(client, argv, 2, _SEARCH | _SEARCHSTORE)
