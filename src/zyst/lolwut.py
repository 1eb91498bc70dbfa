"""LOLWUT's output for each version it can be asked to draw as.

Redis 7.0 draws nothing for its own version: it answers ``Redis ver. 7.0.15``. ``VERSION 5``
draws Georg Nees's "Schotter": a grid of squares, straight at the top and more and more
rotated and shifted (at random) further down, drawn on a canvas of pixels and written as
Braille characters, 2x4 pixels each (Redis's lolwut5.c). Other versions answer as 7.0 does.
"""

from __future__ import annotations

import math
import random
import struct

from zyst import REDIS_VERSION, errors
from zyst.errors import CommandError
from zyst.numbers import strict_int


def lolwut_text(version: str, args: list[bytes]) -> bytes:
    """What LOLWUT answers when drawing as ``version`` ("7.0.15", or "N.0.0" for VERSION N)
    with the arguments that follow."""
    tail = b"Redis ver. " + REDIS_VERSION.encode() + b"\n"
    if (version.startswith("5.") and not version.startswith("5.9")) or version.startswith("4.9"):
        art = schotter(*_schotter_args(args))
        return art + b"\nGeorg Nees - schotter, plotter on paper, 1968. " + tail
    return tail


def _schotter_args(args: list[bytes]) -> tuple[int, int, int]:
    """[columns [squares-per-row [squares-per-column]]], 66 8 12 by default, each clamped to
    Redis's limits (1..1000 columns, 1..200 squares)."""
    values = [66, 8, 12]
    for i, raw in enumerate(args[:3]):
        number = strict_int(raw)
        if number is None:
            raise CommandError(errors.NOT_INTEGER)
        values[i] = number
    cols, per_row, per_col = values
    return min(max(cols, 1), 1000), min(max(per_row, 1), 200), min(max(per_col, 1), 200)


def _f32(value: float) -> float:
    """``value`` as a C float holds it."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _c_round(value: float) -> int:
    """C's round(): halves away from zero."""
    return math.floor(value + 0.5) if value >= 0 else math.ceil(value - 0.5)


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(width * height)

    def set(self, x: int, y: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = 1

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def line(self, x1: int, y1: int, x2: int, y2: int) -> None:
        """Bresenham's line, both ends included."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.set(x1, y1)
            if x1 == x2 and y1 == y2:
                return
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, side: float, angle: float) -> None:
        """A square centred on (x, y) with sides ``side`` long, turned by ``angle`` radians."""
        half_diagonal = _f32(_c_round(_f32(side / 1.4142135623)))
        k = _f32(math.pi / 4 + angle)
        corners = []
        for _ in range(4):
            px = _c_round(math.sin(k) * half_diagonal + x)
            py = _c_round(math.cos(k) * half_diagonal + y)
            corners.append((px, py))
            k = _f32(k + math.pi / 2)
        for j in range(4):
            self.line(*corners[j], *corners[(j + 1) % 4])

    def render(self) -> bytes:
        """The canvas as Braille characters (U+2800 + the bits of 2x4 pixels), a line per four
        rows of pixels."""
        out = bytearray()
        for y in range(0, self.height, 4):
            for x in range(0, self.width, 2):
                bits = (
                    self.get(x, y)
                    | self.get(x, y + 1) << 1
                    | self.get(x, y + 2) << 2
                    | self.get(x + 1, y) << 3
                    | self.get(x + 1, y + 1) << 4
                    | self.get(x + 1, y + 2) << 5
                    | self.get(x, y + 3) << 6
                    | self.get(x + 1, y + 3) << 7
                )
                out += chr(0x2800 + bits).encode()
            if y != self.height - 1:
                out += b"\n"
        return bytes(out)


def schotter(cols: int, per_row: int, per_col: int) -> bytes:
    """Nees's Schotter on a canvas ``cols`` characters wide: the first two rows of squares
    straight, the ones below turned and shifted by random amounts growing with the row."""
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = _f32((width - padding * 2) / per_row)
    canvas = _Canvas(width, int(_f32(side * per_col + padding * 2)))
    rand = random.random
    for y in range(per_col):
        for x in range(per_row):
            sx = int(_f32(_f32(x * side) + side / 2 + padding))
            sy = int(_f32(_f32(y * side) + side / 2 + padding))
            angle = 0.0
            if y > 1:
                r1, r2, r3 = (rand() / per_col * y for _ in range(3))
                r1, r2, r3 = (r if rand() < 0.5 else -r for r in (r1, r2, r3))
                angle = r1
                sx = int(sx + r2 * side / 3)
                sy = int(sy + r3 * side / 3)
            canvas.square(sx, sy, side, angle)
    return canvas.render()
