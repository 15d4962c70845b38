"""What the bot keeps of a text someone typed: no control characters, and a bounded length.

Every incoming message passes here before anything reads it, so nothing stored, exported or shown
carries a NUL, a terminal escape or a bidirectional override (U+202E turns "gpj.exe" into "exe.jpg").
"""

from __future__ import annotations

import unicodedata

MAX_MESSAGE = 4000  # characters of one message; longer ones are refused with a message, never cut silently

# Bidirectional embeddings, overrides and isolates: invisible, and they reorder what a reader sees.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def without_controls(text: str) -> str:
    """The text with line ends made `\\n`, and every control character but newline and tab removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text
                   if c in "\n\t" or (unicodedata.category(c) != "Cc" and c not in _BIDI_CONTROLS))
