"""The compass picture: one sector per criterion, drawn as a PNG without any imaging library.

Each sector's status shows by shape as well as by colour (a disc for ok, a triangle for
"to check", a cross for a blocker), and carries its criterion number, so the picture reads
the same printed in grey or seen by someone who does not tell green from red.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence

SIZE = 320
COLOURS = {"ok": (46, 125, 50), "to_check": (230, 160, 0), "blocker": (198, 40, 40)}
WHITE, INK, RIM = (255, 255, 255), (27, 27, 27), (90, 90, 90)
DIGITS = {  # 3×5 bitmaps
    "1": ("010", "110", "010", "010", "111"), "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"), "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"), "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "001", "001", "001"),
}


def _png(width: int, height: int, rows: list[bytearray]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


class Canvas:
    def __init__(self, size: int) -> None:
        self.size = size
        self.rows = [bytearray(WHITE * size) for _ in range(size)]

    def put(self, x: int, y: int, colour: tuple[int, int, int]) -> None:
        if 0 <= x < self.size and 0 <= y < self.size:
            self.rows[y][3 * x:3 * x + 3] = bytes(colour)

    def disc(self, cx: float, cy: float, r: float, colour: tuple[int, int, int]) -> None:
        for y in range(int(cy - r), int(cy + r) + 1):
            for x in range(int(cx - r), int(cx + r) + 1):
                if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                    self.put(x, y, colour)

    def triangle(self, cx: float, cy: float, r: float, colour: tuple[int, int, int]) -> None:
        points = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        for y in range(int(cy - r), int(cy + r) + 1):
            for x in range(int(cx - r), int(cx + r) + 1):
                signs = [(bx - ax) * (y - ay) - (by - ay) * (x - ax)
                         for (ax, ay), (bx, by) in zip(points, points[1:] + points[:1], strict=True)]
                if all(s >= 0 for s in signs) or all(s <= 0 for s in signs):
                    self.put(x, y, colour)

    def cross(self, cx: float, cy: float, r: float, width: float, colour: tuple[int, int, int]) -> None:
        for y in range(int(cy - r), int(cy + r) + 1):
            for x in range(int(cx - r), int(cx + r) + 1):
                dx, dy = x - cx, y - cy
                if abs(dx - dy) <= width or abs(dx + dy) <= width:
                    self.put(x, y, colour)

    def digit(self, char: str, cx: float, cy: float, scale: int, colour: tuple[int, int, int]) -> None:
        left, top = int(cx - 1.5 * scale), int(cy - 2.5 * scale)
        for row, bits in enumerate(DIGITS[char]):
            for col, bit in enumerate(bits):
                if bit == "1":
                    for dy in range(scale):
                        for dx in range(scale):
                            self.put(left + col * scale + dx, top + row * scale + dy, colour)


def compass_png(levels: Sequence[str], size: int = SIZE) -> bytes:
    """The picture for the seven criteria's levels ('ok', 'to_check', 'blocker'), criterion 1 at the top."""
    canvas = Canvas(size)
    centre, radius = size / 2, size / 2 - 6
    count = len(levels)
    step = 2 * math.pi / count
    for y in range(size):
        row = canvas.rows[y]
        dy = y + 0.5 - centre
        for x in range(size):
            dx = x + 0.5 - centre
            distance = math.hypot(dx, dy)
            if distance > radius + 2:
                continue
            if distance > radius:
                colour = RIM
            else:
                angle = (math.atan2(dx, -dy) + step / 2) % (2 * math.pi)  # clockwise from the top
                sector = int(angle / step)
                edge = abs(angle - sector * step) * distance < 1.2 or abs(angle - (sector + 1) * step) * distance < 1.2
                colour = WHITE if edge else COLOURS[levels[sector % count]]
            row[3 * x:3 * x + 3] = bytes(colour)
    for index, level in enumerate(levels):
        angle = index * step
        mx, my = centre + 0.55 * radius * math.sin(angle), centre - 0.55 * radius * math.cos(angle)
        if level == "ok":
            canvas.disc(mx, my, radius * 0.09, WHITE)
        elif level == "to_check":
            canvas.triangle(mx, my, radius * 0.12, INK)
        else:
            canvas.cross(mx, my, radius * 0.1, radius * 0.025, WHITE)
        nx, ny = centre + 0.82 * radius * math.sin(angle), centre - 0.82 * radius * math.cos(angle)
        canvas.disc(nx, ny, radius * 0.085, WHITE)
        canvas.digit(str(index + 1), nx, ny, max(2, size // 110), INK)
    canvas.disc(centre, centre, radius * 0.08, WHITE)
    return _png(size, size, canvas.rows)
