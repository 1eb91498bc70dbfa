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
