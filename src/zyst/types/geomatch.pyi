"""Types of the C extension ``zyst.types.geomatch`` (see geomatch.c)."""

def matches(
    scores: list[float],
    lon: float,
    lat: float,
    radius: float,
    box: bool,
    half_width: float,
    half_height: float,
    /,
) -> list[tuple[int, float]]: ...
def collect(
    scores: list[float],
    members: list[bytes],
    found: list[tuple[float, bytes, float]],
    limit: int,
    lon: float,
    lat: float,
    radius: float,
    box: bool,
    half_width: float,
    half_height: float,
    /,
) -> None: ...
