"""Text as Boussole keeps and writes it: what agents typed, shown as typed, never as markup.

- `visible_text`: every incoming message, and every export, drops control characters (NUL,
  terminal escapes, bidirectional overrides, zero-width characters…), keeping newline and tab;
  line and paragraph separators and carriage returns become newlines.
- `visible_data`: the same, through the strings of a JSON-like value.
- `csv_cell`: a cell that a spreadsheet would read as a formula gets a leading apostrophe (OWASP).
- `markdown_text`: Markdown (CommonMark with GitHub's tables, strikethrough and footnotes, `$` math,
  `{…}` attribute syntaxes) and the HTML it embeds. Every character they interpret is escaped: a
  backslash before Markdown's punctuation, `&`, `<` and `>` as character references. A line that
  would open a block (heading, list item, setext underline) has its marker escaped too. Newlines
  become `newline`: a hard line break (a backslash at the end of the line, the next line indented
  to stay in its list item) in paragraphs and lists, and ` ↵ ` where a line cannot break (a table
  cell, a heading), read as "a new line here in the original text". Bare http(s) addresses stay
  text in CommonMark; GitHub-flavoured renderers may still link them (never a `javascript:` one).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

JOINERS = {"\u200c", "\u200d"}  # zero-width (non-)joiner: they shape scripts and emoji, and hide nothing
LINE_BREAK = "\\\n"             # CommonMark's hard line break: a backslash ending the line
IN_CELL_BREAK = " ↵ "           # a new line of the original text, where Markdown cannot break the line
_NEWLINES = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"})
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]{}|~$#"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_BLOCK_MARKER = re.compile(r"^([-+=:])|^(\d+)([.)])(?=\s|$)")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HIDDEN = ("Cc", "Cf", "Cs")  # control, format (bidirectional overrides, zero-width…), lone surrogates
# Tab, newline, printable ASCII, Latin letters and accents hide nothing (but U+00AD, the soft hyphen, is
# invisible): only the other characters are looked up, which keeps a register of thousands of uses quick.
_LOOKED_UP = re.compile("[^\t\n\x20-\x7e\xa0-\xac\xae-\u036f]")


def _shown(match: re.Match[str]) -> str:
    c = match[0]
    return c if c in JOINERS or unicodedata.category(c) not in HIDDEN else ""


def visible_text(text: str) -> str:
    return _LOOKED_UP.sub(_shown, text.replace("\r\n", "\n").translate(_NEWLINES))


def visible_data(value: Any) -> Any:
    """`value` with `visible_text` applied to every string in it (keys too)."""
    if isinstance(value, str):
        return visible_text(value)
    if isinstance(value, dict):
        return {visible_data(k): visible_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [visible_data(v) for v in value]
    return value


def csv_cell(value: Any) -> Any:
    if isinstance(value, str):
        value = visible_text(value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


def _markdown_line(line: str) -> str:
    # Leading blanks would make an indented code block; trailing ones a hard break.
    escaped = line.strip().translate(_MARKDOWN)
    return _BLOCK_MARKER.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped, count=1)


def markdown_text(text: str, *, newline: str = LINE_BREAK) -> str:
    """`text` as Markdown that shows it as typed; its newlines become `newline` (see the module's docstring)."""
    lines = visible_text(text).strip().split("\n")
    return newline.join(_markdown_line(line) for line in lines)


def one_line(text: str, limit: int) -> str:
    """User text on one line: no control characters, runs of spaces and line breaks as one space, at most
    `limit` characters (the last one an ellipsis when it was cut)."""
    line = " ".join(visible_text(text).split())
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"
