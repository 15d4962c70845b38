"""The compass picture: the seven criteria around a wheel, with a title and a legend, readable on its own.

Sent alone as a file in a chat, it still says what it is: "Boussole", the use's number and title, the
date and the questionnaire version above the wheel, each criterion's name beside its sector, and a
legend below. Each status shows by a shape as well as a colour (a disc for conforme, a triangle for à
vérifier, a cross for bloquant, a hollow square for à compléter), so it reads the same printed in grey
or seen by someone who does not tell green from red.

Describing and drawing are apart. `describe` puts every word of the picture in the reader's language
into a `Picture`, plain JSON-ready data that the `rapport` step stores with its reply; `draw` turns a
`Picture` into PNG bytes with Pillow, and runs after the step's commit, in a worker thread. The text is
set in DejaVu Sans, shipped in `bot/fonts`: Pillow's own bundled font has no accented letters.

    python -m bot.compass demo docs/boussole-compass.png     # the README's picture, from a demo assessment
"""

from __future__ import annotations

import datetime as dt
import io
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from bot.escaping import one_line
from bot.i18n import Translator
from conversations.questionnaire import Level
from conversations.rules import Summary

STATUSES = ("ok", "to_check", "blocker", "incomplete")
FILL = {"ok": (46, 125, 50), "to_check": (230, 160, 0), "blocker": (198, 40, 40), "incomplete": (205, 205, 205)}
MARK = {"ok": (255, 255, 255), "to_check": (27, 27, 27), "blocker": (255, 255, 255), "incomplete": (27, 27, 27)}
WHITE, INK, GREY = (255, 255, 255), (27, 27, 27), (75, 75, 75)

WIDTH = 1000          # pixels of the finished picture; it is drawn twice as large, then scaled down smoothly
SCALE = 2
MARGIN = 40
RADIUS = 200          # the wheel's
MAX_TITLE = 160       # characters of the use's title kept (the picture then fits it to two lines)
FONTS = Path(__file__).parent / "fonts"


@dataclass(frozen=True)
class Sector:
    number: int
    name: str       # the criterion's title, in the reader's language
    status: str     # one of STATUSES


@dataclass(frozen=True)
class Picture:
    """Every word and status the picture shows, in the reader's language."""

    heading: str                          # Boussole — usage n°3
    title: str                            # the use's title, as typed (visible characters, bounded)
    subtitle: str                         # 29 novembre 2026 · questionnaire 2025.1
    sectors: tuple[Sector, ...]
    legend: tuple[tuple[str, str], ...]   # (status, its word), in STATUSES order
    alt: str                              # the whole picture in words, for screen readers

    def to_json(self) -> dict[str, Any]:
        return {"heading": self.heading, "title": self.title, "subtitle": self.subtitle,
                "sectors": [[s.number, s.name, s.status] for s in self.sectors],
                "legend": [list(item) for item in self.legend], "alt": self.alt}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Picture:
        return cls(heading=data["heading"], title=data["title"], subtitle=data["subtitle"],
                   sectors=tuple(Sector(int(n), str(name), str(status)) for n, name, status in data["sectors"]),
                   legend=tuple((str(status), str(word)) for status, word in data["legend"]), alt=data["alt"])


def status_of(level: Level | str, unanswered: int = 0) -> str:
    """A sector's status: its worst finding, or « à compléter » while its questions wait and none was found."""
    level = str(level)
    return "incomplete" if level == "ok" and unanswered else level


def criteria_of(summary: Summary, t: Translator) -> list[tuple[int, str, str]]:
    """(number, name in the reader's language, status) of each rated criterion of a summary."""
    return [(c.number, t.text(c.title), status_of(c.level, c.unanswered)) for c in summary.criteria if c.number > 0]


def describe(*, number: int, title: str, version: str, when: str, criteria: Iterable[tuple[int, str, str]],
             t: Translator) -> Picture:
    """The picture of one assessment in `t`'s language: `when` is the instant it shows (ISO), `criteria` the
    (number, name, status) of each rated criterion, criterion 1 first."""
    title = one_line(title, MAX_TITLE)
    date = t.date(when, long=True)
    sectors = tuple(Sector(n, name, status) for n, name, status in criteria)
    words = {status: t(f"compass.status.{status}") for status in STATUSES}
    alt = " ".join([t("compass.alt", id=number, title=t.title_suffix(title), date=date, version=version),
                    *(t("compass.alt_criterion", number=s.number, name=s.name, status=words[s.status])
                      for s in sectors)])
    return Picture(heading=t("compass.heading", id=number), title=title,
                   subtitle=t("compass.subtitle", date=date, version=version), sectors=sectors,
                   legend=tuple(words.items()), alt=alt)


def compass_png(report: Mapping[str, Any], now: dt.datetime | None = None) -> bytes:
    """The picture of a report (`bot.report.build`), in French, dated now: for the command line's report. A
    criterion with questions still unanswered is « à compléter »."""
    criteria = [(c["number"], c["title"], status_of(c["level"], c["unanswered"]))
                for c in report["criteria"] if c["number"]]
    picture = describe(number=report["id"], title=report["title"], version=report["questionnaire_version"],
                       when=(now or dt.datetime.now(dt.UTC)).isoformat(), t=Translator("fr"), criteria=criteria)
    return draw(picture)


# -- drawing --------------------------------------------------------------------------------------

def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size * SCALE)


@dataclass(frozen=True)
class Fonts:
    """The picture's type sizes, read once per drawing."""
    heading: ImageFont.FreeTypeFont
    title: ImageFont.FreeTypeFont
    small: ImageFont.FreeTypeFont     # the subtitle and the legend
    label: ImageFont.FreeTypeFont     # the criteria's names
    number: ImageFont.FreeTypeFont    # in the wheel

    @classmethod
    def load(cls) -> Fonts:
        return cls(heading=_font(40, bold=True), title=_font(28), small=_font(22), label=_font(21),
                   number=_font(30, bold=True))


def _fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """The text, cut with an ellipsis until it fits the width."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text.rstrip() + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """The text in lines that fit the width, at most `max_lines` (the last one ending in an ellipsis when
    the text was longer); a word wider than the whole width is cut."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines[max_lines - 1:] = [" ".join(lines[max_lines - 1:])]
    return [_fit(line, font, width) for line in lines]


@dataclass(frozen=True)
class _Block:
    """Lines of text placed at an anchor: `align` is l, m or r (where x is), y is the top."""
    lines: list[str]
    font: ImageFont.FreeTypeFont
    x: float
    y: float
    align: str
    leading: float

    @property
    def height(self) -> float:
        return len(self.lines) * self.leading

    def draw(self, canvas: ImageDraw.ImageDraw, fill: tuple[int, int, int], dy: float = 0) -> None:
        for index, line in enumerate(self.lines):
            canvas.text((self.x, self.y + dy + index * self.leading), line, font=self.font, fill=fill,
                        anchor=f"{self.align}a")


def _mark(canvas: ImageDraw.ImageDraw, status: str, cx: float, cy: float, r: float) -> None:
    """A status's shape, centred on (cx, cy), about 2r across."""
    colour = MARK[status]
    if status == "ok":
        canvas.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif status == "to_check":
        top, base = cy - 1.1 * r, cy + 0.75 * r
        canvas.polygon([(cx, top), (cx + 1.05 * r, base), (cx - 1.05 * r, base)], fill=colour)
    elif status == "blocker":
        for dx in (-r, r):
            canvas.line((cx - dx, cy - r, cx + dx, cy + r), fill=colour, width=round(0.4 * r))
    else:
        canvas.rectangle((cx - 0.85 * r, cy - 0.85 * r, cx + 0.85 * r, cy + 0.85 * r), outline=colour,
                         width=round(0.3 * r))


def _label_block(sector: Sector, angle: float, centre: tuple[float, float], font: ImageFont.FreeTypeFont) -> _Block:
    """A criterion's name beside its sector: left of the wheel it ends at the anchor, right of it it starts
    there, above it sits on it, below it hangs from it."""
    s = SCALE
    reach = (RADIUS + 18) * s
    x, y = centre[0] + reach * math.sin(angle), centre[1] - reach * math.cos(angle)
    sin, cos = math.sin(angle), math.cos(angle)
    if sin > 0.25:
        align, width = "l", WIDTH * s - MARGIN * s - x
    elif sin < -0.25:
        align, width = "r", x - MARGIN * s
    else:
        align, width = "m", 2 * min(x - MARGIN * s, WIDTH * s - MARGIN * s - x)
    width = min(width, 330 * s)
    lines = wrap(f"{sector.number}. {sector.name}", font, width, 4)
    leading = 27 * s
    height = len(lines) * leading
    top = y - height if cos > 0.25 else (y if cos < -0.25 else y - height / 2)
    return _Block(lines, font, x, top, align, leading)


def draw(picture: Picture) -> bytes:
    """The picture as PNG bytes, WIDTH pixels wide, and as high unless long names need more."""
    s = SCALE
    fonts = Fonts.load()
    width = WIDTH * s
    room = width - 2 * MARGIN * s
    heading = _Block([_fit(picture.heading, fonts.heading, room)], fonts.heading, width / 2, MARGIN * s, "m", 52 * s)
    title = _Block(wrap(picture.title, fonts.title, room, 2), fonts.title, width / 2, heading.y + heading.height,
                   "m", 36 * s)
    subtitle = _Block([_fit(picture.subtitle, fonts.small, room)], fonts.small, width / 2,
                      title.y + title.height + 6 * s, "m", 30 * s)
    header_bottom = subtitle.y + subtitle.height + 14 * s

    count = len(picture.sectors)
    step = 2 * math.pi / count if count else 0.0
    labels = [_label_block(sector, i * step, (width / 2, 0.0), fonts.label) for i, sector in enumerate(picture.sectors)]
    # The wheel's centre, measured from a centre at 0: everything sits just below the header.
    top = min([-RADIUS * s, *(b.y for b in labels)])
    centre_y = header_bottom + 26 * s - top
    bottom = max([RADIUS * s, *(b.y + b.height for b in labels)]) + centre_y

    legend_font = fonts.small
    swatch = 17 * s
    items = [(status, word, 2 * swatch + 10 * s + legend_font.getlength(word)) for status, word in picture.legend]
    rows: list[list[tuple[str, str, float]]] = [[]]
    gap = 36 * s
    for item in items:
        if rows[-1] and sum(i[2] + gap for i in rows[-1]) + item[2] > room:
            rows.append([])
        rows[-1].append(item)
    legend_top = bottom + 40 * s
    row_height = 2 * swatch + 16 * s
    height = round(legend_top + len(rows) * row_height + MARGIN * s)

    image = Image.new("RGB", (width, height), WHITE)
    canvas = ImageDraw.Draw(image)
    heading.draw(canvas, INK)
    title.draw(canvas, INK)
    subtitle.draw(canvas, GREY)
    canvas.line((MARGIN * s, header_bottom, width - MARGIN * s, header_bottom), fill=(200, 200, 200), width=2 * s)

    cx, cy, r = width / 2, centre_y, RADIUS * s
    canvas.ellipse((cx - r - 3 * s, cy - r - 3 * s, cx + r + 3 * s, cy + r + 3 * s), fill=GREY)
    for index, sector in enumerate(picture.sectors):
        middle = math.degrees(index * step) - 90   # Pillow counts degrees clockwise from three o'clock
        half = math.degrees(step) / 2
        canvas.pieslice((cx - r, cy - r, cx + r, cy + r), middle - half, middle + half, fill=FILL[sector.status],
                        outline=WHITE, width=3 * s)
    for index, sector in enumerate(picture.sectors):
        angle = index * step
        mx, my = cx + 0.5 * r * math.sin(angle), cy - 0.5 * r * math.cos(angle)
        _mark(canvas, sector.status, mx, my, 0.1 * r)
        nx, ny = cx + 0.8 * r * math.sin(angle), cy - 0.8 * r * math.cos(angle)
        canvas.text((nx, ny), str(sector.number), font=fonts.number, fill=MARK[sector.status], anchor="mm")
    canvas.ellipse((cx - 0.09 * r, cy - 0.09 * r, cx + 0.09 * r, cy + 0.09 * r), fill=WHITE)
    for block in labels:
        block.draw(canvas, INK, centre_y)

    for row_index, row in enumerate(rows):
        total = sum(i[2] for i in row) + gap * (len(row) - 1)
        x = (width - total) / 2
        y = legend_top + row_index * row_height + swatch
        for status, word, item_width in row:
            canvas.ellipse((x, y - swatch, x + 2 * swatch, y + swatch), fill=FILL[status])
            _mark(canvas, status, x + swatch, y, 0.5 * swatch)
            canvas.text((x + 2 * swatch + 10 * s, y), word, font=legend_font, fill=INK, anchor="lm")
            x += item_width + gap

    # Square unless the names need more height: a page or a chat that shows it as a square does not squash it.
    side = max(width, height)
    square = Image.new("RGB", (width, side), WHITE)
    square.paste(image, (0, (side - height) // 2))
    out = io.BytesIO()
    square.resize((WIDTH, round(side / s)), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


# -- the README's picture -------------------------------------------------------------------------

DEMO_CRITERIA_STATUS = ("ok", "to_check", "ok", "incomplete", "ok", "blocker", "ok")


def demo_picture(locale: str = "fr") -> Picture:
    """A demo assessment's picture, one criterion of each status, under the current questionnaire."""
    from conversations.questionnaire import load_questionnaire
    questionnaire = load_questionnaire()
    t = Translator(locale)
    criteria = [(c.number, t.text(c.title), status)
                for c, status in zip(questionnaire.rated_criteria, DEMO_CRITERIA_STATUS, strict=True)]
    return describe(number=12, title="Tri du courrier entrant : « assistant » de réponse aux usagers",
                    version=questionnaire.version, when="2026-11-29T09:00:00+00:00", criteria=criteria, t=t)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2 or argv[0] != "demo":
        print("usage: python -m bot.compass demo OUT.png", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(draw(demo_picture()))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
