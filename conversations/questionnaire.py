"""The questionnaire: typed model of the versioned TOML data file, and its validating loader.

Loading checks the whole file and reports every problem with its location, so an admin
who edits the wording or the rules learns everything wrong in one go.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

LANGUAGES = ("fr", "en")
DEFAULT_PATH = Path(__file__).with_name("questionnaire.toml")
MATCH_KEYS = ("equals", "any_of", "includes", "unknown", "above", "below")


class QuestionType(StrEnum):
    YESNO = "yesno"
    CHOICE = "choice"
    MULTI = "multi"
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"


class Level(StrEnum):
    OK = "ok"
    TO_CHECK = "to_check"
    BLOCKER = "blocker"


class QuestionnaireError(Exception):
    """The questionnaire file is unusable; `problems` lists every defect with its location."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{self.path}: {len(problems)} problem(s) in the questionnaire:\n{listing}")


@dataclass(frozen=True)
class LocalText:
    """A text in every supported language."""

    fr: str
    en: str

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.fr


@dataclass(frozen=True)
class Choice:
    id: str
    label: LocalText


@dataclass(frozen=True)
class Match:
    """A test on one answer; used by conditions and by rules."""

    equals: Any = None
    any_of: tuple[Any, ...] = ()
    includes: str | None = None
    unknown: bool | None = None
    above: float | None = None
    below: float | None = None


@dataclass(frozen=True)
class Condition:
    question: str
    match: Match


@dataclass(frozen=True)
class Rule:
    match: Match
    level: Level
    reason: LocalText
    criterion: int | None = None


@dataclass(frozen=True)
class Question:
    id: str
    criterion: int
    type: QuestionType
    text: LocalText
    help: LocalText
    choices: tuple[Choice, ...] = ()
    choices_from: str | None = None
    exclusive: tuple[str, ...] = ()
    when: tuple[Condition, ...] = ()
    rules: tuple[Rule, ...] = ()
    required: bool = True
    unknown_allowed: bool = False
    min_length: int = 1
    max_length: int = 2000
    minimum: float | None = None
    maximum: float | None = None

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(frozen=True)
class Criterion:
    number: int
    title: LocalText
    principle: LocalText | None = None


@dataclass(frozen=True)
class Questionnaire:
    version: str
    title: LocalText
    criteria: tuple[Criterion, ...]
    questions: tuple[Question, ...]
    _index: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({q.id: q for q in self.questions})

    def question(self, question_id: str) -> Question:
        return self._index[question_id]

    def has(self, question_id: str) -> bool:
        return question_id in self._index

    def criterion(self, number: int) -> Criterion:
        return next(c for c in self.criteria if c.number == number)

    @property
    def rated_criteria(self) -> tuple[Criterion, ...]:
        """The doctrine's criteria, without the context section (number 0)."""
        return tuple(c for c in self.criteria if c.number > 0)


class _Reader:
    """Collects problems while building the model, instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, raw: Any, where: str, *, required: bool = True) -> LocalText | None:
        if raw is None:
            if required:
                self.fail(where, "missing (a table with " + " and ".join(LANGUAGES) + ")")
            return None
        if not isinstance(raw, dict):
            self.fail(where, "must be a table of translations, e.g. text.fr = \"…\"")
            return None
        values = {}
        for lang in LANGUAGES:
            value = raw.get(lang)
            if not isinstance(value, str) or not value.strip():
                self.fail(where, f"missing translation '{lang}'")
                value = ""
            values[lang] = value
        for extra in set(raw) - set(LANGUAGES):
            self.fail(where, f"unknown language '{extra}' (expected {', '.join(LANGUAGES)})")
        return LocalText(**values)

    def match(self, raw: dict[str, Any], where: str) -> Match:
        present = [k for k in MATCH_KEYS if k in raw]
        if len(present) != 1:
            self.fail(where, f"needs exactly one of {', '.join(MATCH_KEYS)} (found {present or 'none'})")
            return Match()
        key = present[0]
        value = raw[key]
        if key == "any_of":
            if not isinstance(value, list) or not value:
                self.fail(where, "any_of must be a non-empty list")
                return Match()
            return Match(any_of=tuple(value))
        if key in ("above", "below") and not isinstance(value, int | float):
            self.fail(where, f"{key} must be a number")
            return Match()
        if key == "unknown" and not isinstance(value, bool):
            self.fail(where, "unknown must be true or false")
            return Match()
        return Match(**{key: value})


def _match_values(match: Match) -> list[Any]:
    if match.equals is not None:
        return [match.equals]
    if match.includes is not None:
        return [match.includes]
    return list(match.any_of)


def _check_match_against(reader: _Reader, match: Match, target: Question, where: str) -> None:
    """A match must speak of values the target question can actually take."""
    numeric = match.above is not None or match.below is not None
    if numeric and target.type is not QuestionType.NUMBER:
        reader.fail(where, f"above/below only apply to number questions ('{target.id}' is {target.type})")
    if match.includes is not None and target.type is not QuestionType.MULTI:
        reader.fail(where, f"includes only applies to multi questions ('{target.id}' is {target.type})")
    if target.type is QuestionType.YESNO:
        allowed = {"yes", "no", "unknown"}
    elif target.type in (QuestionType.CHOICE, QuestionType.MULTI) and not target.choices_from:
        allowed = {c.id for c in target.choices}
    else:
        return
    for value in _match_values(match):
        if value not in allowed:
            reader.fail(where, f"'{value}' is not a possible answer of '{target.id}' ({', '.join(sorted(allowed))})")


_QUESTION_KEYS = {
    "id", "criterion", "type", "text", "help", "choices", "choices_from", "exclusive", "when",
    "rules", "required", "unknown_allowed", "min_length", "max_length", "min", "max",
}


def _read_question(reader: _Reader, raw: dict[str, Any], index: int, criteria: set[int]) -> Question | None:
    qid = raw.get("id")
    where = f"questions[{index}]" + (f" (id '{qid}')" if isinstance(qid, str) else "")
    for extra in set(raw) - _QUESTION_KEYS:
        reader.fail(where, f"unknown key '{extra}'")
    if not isinstance(qid, str) or not qid.replace("_", "").isalnum():
        reader.fail(where, "id must be a word of letters, digits and underscores")
        return None
    criterion = raw.get("criterion")
    if criterion not in criteria:
        reader.fail(where, f"criterion {criterion!r} is not declared in [[criteria]]")
        criterion = 0
    try:
        qtype = QuestionType(str(raw.get("type")))
    except ValueError:
        reader.fail(where, f"type {raw.get('type')!r} is not one of {', '.join(t.value for t in QuestionType)}")
        return None
    text = reader.text(raw.get("text"), f"{where}.text")
    help_text = reader.text(raw.get("help"), f"{where}.help")

    choices: list[Choice] = []
    seen_choices: set[str] = set()
    for ci, rc in enumerate(raw.get("choices", [])):
        cwhere = f"{where}.choices[{ci}]"
        cid = rc.get("id") if isinstance(rc, dict) else None
        if not isinstance(cid, str) or not cid:
            reader.fail(cwhere, "a choice needs an id")
            continue
        if cid in seen_choices:
            reader.fail(cwhere, f"duplicate choice id '{cid}'")
        seen_choices.add(cid)
        label = reader.text({k: v for k, v in rc.items() if k != "id"}, f"{cwhere} ('{cid}')")
        if label:
            choices.append(Choice(cid, label))
    choices_from = raw.get("choices_from")
    if qtype in (QuestionType.CHOICE, QuestionType.MULTI):
        if choices_from is None and len(choices) < 2:
            reader.fail(where, f"a {qtype} question needs at least two choices")
        if choices_from is not None and choices:
            reader.fail(where, "give either choices or choices_from, not both")
        if choices_from not in (None, "directions"):
            reader.fail(where, f"choices_from {choices_from!r} is unknown (only 'directions')")
    elif choices or choices_from:
        reader.fail(where, f"a {qtype} question takes no choices")
    exclusive = tuple(raw.get("exclusive", ()))
    for ex in exclusive:
        if ex not in seen_choices:
            reader.fail(where, f"exclusive choice '{ex}' is not among the choices")

    min_length, max_length = raw.get("min_length", 1), raw.get("max_length", 2000)
    if qtype is QuestionType.TEXT and not (
        isinstance(min_length, int) and isinstance(max_length, int) and 0 <= min_length <= max_length
    ):
        reader.fail(where, f"bad bounds: min_length {min_length!r} and max_length {max_length!r} "
                    "must be whole numbers with 0 <= min_length <= max_length")
    minimum, maximum = raw.get("min"), raw.get("max")
    if minimum is not None and maximum is not None and minimum > maximum:
        reader.fail(where, f"bad bounds: min {minimum} is above max {maximum}")

    rules = []
    for ri, rr in enumerate(raw.get("rules", [])):
        rwhere = f"{where}.rules[{ri}]"
        match = reader.match(rr, rwhere)
        try:
            level = Level(rr.get("level"))
        except ValueError:
            reader.fail(rwhere, f"level {rr.get('level')!r} must be 'blocker' or 'to_check'")
            continue
        if level is Level.OK:
            reader.fail(rwhere, "level 'ok' needs no rule: use 'blocker' or 'to_check'")
        reason = reader.text(rr.get("reason"), f"{rwhere}.reason")
        rule_criterion = rr.get("criterion")
        if rule_criterion is not None and rule_criterion not in criteria:
            reader.fail(rwhere, f"criterion {rule_criterion!r} is not declared")
        if reason:
            rules.append(Rule(match, level, reason, rule_criterion))

    conditions = []
    for wi, rw in enumerate(raw.get("when", [])):
        wwhere = f"{where}.when[{wi}]"
        target = rw.get("question") if isinstance(rw, dict) else None
        if not isinstance(target, str):
            reader.fail(wwhere, "a condition names the question it depends on: question = \"…\"")
            continue
        conditions.append(Condition(target, reader.match({k: v for k, v in rw.items() if k != "question"}, wwhere)))

    if text is None or help_text is None:
        return None
    return Question(
        id=qid, criterion=criterion, type=qtype, text=text, help=help_text, choices=tuple(choices),
        choices_from=choices_from, exclusive=exclusive, when=tuple(conditions), rules=tuple(rules),
        required=bool(raw.get("required", True)),
        unknown_allowed=qtype is QuestionType.YESNO or bool(raw.get("unknown_allowed", False)),
        min_length=min_length if isinstance(min_length, int) else 1,
        max_length=max_length if isinstance(max_length, int) else 2000,
        minimum=minimum, maximum=maximum,
    )


def parse_questionnaire(data: dict[str, Any], source: str = "<questionnaire>") -> Questionnaire:
    """Build and validate a questionnaire from already-parsed TOML data."""
    reader = _Reader()
    version = data.get("version")
    if not isinstance(version, str) or not version:
        reader.fail("version", "missing: a version string such as \"2024.1\"")
        version = "?"
    title = reader.text(data.get("title"), "title")

    criteria: list[Criterion] = []
    for ci, rc in enumerate(data.get("criteria", [])):
        number = rc.get("number")
        where = f"criteria[{ci}]"
        if not isinstance(number, int) or any(c.number == number for c in criteria):
            reader.fail(where, f"number {number!r} must be a whole number, unique")
            continue
        ctitle = reader.text(rc.get("title"), f"{where}.title")
        principle = reader.text(rc.get("principle"), f"{where}.principle", required=number > 0)
        if ctitle:
            criteria.append(Criterion(number, ctitle, principle))
    numbers = {c.number for c in criteria}
    if 0 not in numbers:
        reader.fail("criteria", "the context section (number = 0) is missing")

    questions: list[Question] = []
    seen: dict[str, int] = {}
    for qi, rq in enumerate(data.get("questions", [])):
        question = _read_question(reader, rq, qi, numbers)
        if question is None:
            continue
        if question.id in seen:
            reader.fail(f"questions[{qi}]", f"duplicate id '{question.id}' (first at questions[{seen[question.id]}])")
            continue
        seen[question.id] = qi
        questions.append(question)

    by_id = {q.id: q for q in questions}
    for question in questions:
        where = f"questions[{seen[question.id]}] (id '{question.id}')"
        for condition in question.when:
            target = by_id.get(condition.question)
            if target is None:
                reader.fail(where, f"condition refers to unknown question '{condition.question}'")
            elif seen[target.id] >= seen[question.id]:
                reader.fail(where, f"condition refers to '{target.id}', which is not asked before it")
            else:
                _check_match_against(reader, condition.match, target, f"{where}.when")
        for rule in question.rules:
            _check_match_against(reader, rule.match, question, f"{where}.rules")
    for criterion in criteria:
        if criterion.number > 0 and not any(q.criterion == criterion.number for q in questions):
            reader.fail(f"criteria (number {criterion.number})", "has no question")

    if reader.problems or title is None:
        raise QuestionnaireError(source, reader.problems)
    return Questionnaire(version=version, title=title, criteria=tuple(criteria), questions=tuple(questions))


def load_questionnaire(path: Path | str = DEFAULT_PATH) -> Questionnaire:
    """Read and validate a questionnaire file; raise QuestionnaireError listing every problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionnaireError(path, ["file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(path, [f"not valid TOML: {exc}"]) from None
    return parse_questionnaire(data, str(path))
