"""Forgiving parsing of typed answers into validated `Answer` values.

`oui/non/o/n/yes/no` (case, accents and punctuation ignored; `non, mais les visages sont
floutés` is "no" with the rest kept as the answer's comment), `je ne sais pas`/`?`, a choice
by number or by label (accents and case ignored), several choices as `1,3`. A refusal says
what is expected, as a message key and parameters that the application's catalogue turns into
words; `closest` finds what a misspelt word was probably meant to be.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conversations.questionnaire import Choice, Question, QuestionType

YES = {"oui", "o", "yes", "y", "ouais", "ok oui"}
NO = {"non", "n", "no"}
# Words clear enough to decide a yes/no when more follows ("non, mais les visages sont floutés"). The
# one-letter forms count only alone: "y a pas de données" is no "yes".
YES_FIRST = {"oui", "yes", "ouais", "yep", "yeah"}
NO_FIRST = {"non", "no", "nope"}
_FIRST_WORD = re.compile(r"([a-z]+)(?=$|[\s,.;:!?…)–—])")  # "no-one" is no "no"
_TYPED_WORD = re.compile(r"[^\W\d_]+")
_EDGE_PUNCTUATION = " \t\n.,;:!?…-–—()\"'«»"
SUGGESTION_CUTOFF = 0.75  # difflib's ratio: "nouvau" → "nouveau" is 0.92, "aidee" → "aide" 0.89
UNKNOWN = {"?", "je ne sais pas", "jsp", "ne sais pas", "sais pas", "nsp", "je sais pas",
           "i don't know", "i dont know", "dont know", "don't know", "unknown", "idk"}


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used to compare what people type."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.replace("’", "'").replace("«", "").replace("»", "")
    return " ".join(bare.lower().split())


@dataclass(frozen=True)
class Answer:
    """A stored answer: a value, or 'unknown' (je ne sais pas), or 'skipped' (passer)."""

    value: Any = None
    unknown: bool = False
    skipped: bool = False
    # Words typed after a clear yes or no ("non, mais les visages sont floutés"): they explain the answer and
    # change no finding, so two answers that differ only by their comment are the same answer.
    comment: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        if self.unknown:
            return {"unknown": True}
        if self.skipped:
            return {"skipped": True}
        if self.comment:
            return {"value": self.value, "comment": self.comment}
        return {"value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        comment = data.get("comment")
        return cls(value=data.get("value"), unknown=bool(data.get("unknown")), skipped=bool(data.get("skipped")),
                   comment=comment if isinstance(comment, str) and comment else None)


@dataclass(frozen=True)
class Invalid:
    """Why a typed answer was refused: a catalogue key and its parameters."""

    key: str
    params: dict[str, Any]


def yes_or_no(text: str) -> tuple[str, str] | None:
    """("yes" or "no", the words after it) when `text` starts with a clear yes or no, else None.

    Case, accents and punctuation are ignored: `Non.`, `OUI !`, `non, mais les visages sont floutés`."""
    folded = fold(text).strip(_EDGE_PUNCTUATION)
    if folded in YES or folded in NO:
        return ("yes" if folded in YES else "no"), ""
    match = _FIRST_WORD.match(folded)
    if match is None or match.group(1) not in YES_FIRST | NO_FIRST:
        return None
    value = "yes" if match.group(1) in YES_FIRST else "no"
    typed = " ".join(text.split())
    first = _TYPED_WORD.search(typed)  # the same first word, as typed: the rest keeps its accents and case
    rest = typed[first.end():] if first is not None else ""
    return value, rest.strip(_EDGE_PUNCTUATION)


def closest(typed: str, candidates: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """What `typed` was probably meant to be, among (key, spelling) pairs: the key and spelling closest to it
    (difflib's ratio, accents and case ignored); a key may have several spellings.

    None when nothing is close enough, or when two different keys are equally close: never a guess."""
    folded = fold(typed)
    if not folded:
        return None
    best: dict[str, tuple[float, str]] = {}
    for key, spelling in candidates:
        target = fold(spelling)
        if not target or target == folded:  # typed exactly, it was read as such: nothing to suggest
            continue
        score = difflib.SequenceMatcher(None, folded, target).ratio()
        if score >= SUGGESTION_CUTOFF and score > best.get(key, (0.0, ""))[0]:
            best[key] = (score, spelling)
    ranked = sorted(best.items(), key=lambda item: item[1][0], reverse=True)
    if not ranked or (len(ranked) > 1 and ranked[0][1][0] == ranked[1][1][0]):
        return None
    key, (_score, spelling) = ranked[0]
    return key, spelling


def _choice_by_token(token: str, choices: tuple[Choice, ...]) -> Choice | None:
    token = fold(token).strip(" .)")
    if token.isdigit():  # after folding, "²" and "①" are "2" and "1"; other scripts' digits are no choice number
        n = int(token) if token.isascii() and len(token) <= 9 else 0
        return choices[n - 1] if 1 <= n <= len(choices) else None
    for choice in choices:
        if token in (fold(choice.id), fold(choice.label.fr), fold(choice.label.en)):
            return choice
    # A unique prefix of a label is accepted: people type the first words.
    hits = [c for c in choices if fold(c.label.fr).startswith(token) or fold(c.label.en).startswith(token)]
    return hits[0] if len(token) >= 3 and len(hits) == 1 else None


def parse_answer(question: Question, raw: str, choices: tuple[Choice, ...] | None = None) -> Answer | Invalid:
    """Turn what the user typed into an Answer for `question`, or say why it is refused.

    `choices` overrides the question's own (for questions whose choices come from config).
    """
    text = raw.strip()
    folded = fold(text)
    options = choices if choices is not None else question.choices
    if folded in UNKNOWN:
        if question.unknown_allowed:
            return Answer(unknown=True)
        return Invalid("invalid.unknown_not_allowed", {})

    qtype = question.type
    if qtype is QuestionType.YESNO:
        clear = yes_or_no(text)
        if clear is None:
            return Invalid("invalid.yesno", {})
        value, rest = clear
        if len(rest) > question.max_length:
            return Invalid("invalid.text_long", {"max": question.max_length, "length": len(rest)})
        return Answer(value, comment=rest or None)

    if qtype is QuestionType.CHOICE:
        choice = _choice_by_token(text, options)
        if choice is None:
            return Invalid("invalid.choice", {"count": len(options)})
        return Answer(choice.id)

    if qtype is QuestionType.MULTI:
        tokens = [t for t in re.split(r"[,;/]|\s+et\s+|\s+and\s+", text) if t.strip()]
        if len(tokens) == 1 and re.fullmatch(r"[\d\s]+", text) and " " in text.strip():
            tokens = text.split()
        picked: list[str] = []
        for token in tokens:
            choice = _choice_by_token(token, options)
            if choice is None:
                return Invalid("invalid.multi", {"count": len(options), "token": token.strip()})
            if choice.id not in picked:
                picked.append(choice.id)
        if not picked:
            return Invalid("invalid.multi", {"count": len(options), "token": text})
        exclusive = [c for c in picked if c in question.exclusive]
        if exclusive and len(picked) > 1:
            label = next(c.label for c in options if c.id == exclusive[0])
            return Invalid("invalid.exclusive", {"choice": label})
        order = [c.id for c in options]
        return Answer(sorted(picked, key=order.index))

    if qtype is QuestionType.TEXT:
        length = len(text)
        if length < question.min_length:
            return Invalid("invalid.text_short", {"min": question.min_length, "length": length})
        if length > question.max_length:
            return Invalid("invalid.text_long", {"max": question.max_length, "length": length})
        return Answer(text)

    if qtype is QuestionType.NUMBER:
        try:
            number = float(text.replace(",", ".").replace(" ", "").replace("\u202f", ""))
        except ValueError:
            return Invalid("invalid.number", {})
        if question.minimum is not None and number < question.minimum:
            return Invalid("invalid.number_low", {"min": question.minimum})
        if question.maximum is not None and number > question.maximum:
            return Invalid("invalid.number_high", {"max": question.maximum})
        return Answer(int(number) if number.is_integer() else number)

    if qtype is QuestionType.DATE:
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
            try:
                return Answer(dt.datetime.strptime(text, fmt).date().isoformat())
            except ValueError:
                continue
        return Invalid("invalid.date", {})

    raise AssertionError(f"unhandled question type {qtype}")
