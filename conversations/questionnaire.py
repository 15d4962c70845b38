"""The questionnaire: typed model of the versioned TOML data file, and its validating loader.

Loading checks the whole file and reports every problem with its location, so an admin
who edits the wording or the rules learns everything wrong in one go. Besides the rules of
one answer, `[[combined_rules]]` read several answers together (a use that analyses images of
people cannot pass criterion 1 on one "non"). Earlier versions stay in `questionnaires/`, so
that an assessment answered under one of them is still read with its own questions and rules.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from conversations.policy import OBLIGATIONS, ImpactPolicy

LANGUAGES = ("fr", "en")
DEFAULT_PATH = Path(__file__).with_name("questionnaire.toml")
ARCHIVE_DIR = Path(__file__).with_name("questionnaires")  # earlier versions, named <version>.toml
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


# Offered after the configured directions: an agent whose direction is not listed can always go on.
OTHER_CHOICE = Choice("other", LocalText("Autre (préciser)", "Other (specify)"))


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
    touches: tuple[int, ...] = ()   # other criteria it concerns: their reviewers are alerted and required too


@dataclass(frozen=True)
class CombinedRule:
    """A finding that reads several answers: it holds when every condition of `all` holds."""

    id: str
    criterion: int
    level: Level
    reason: LocalText
    short: LocalText
    all: tuple[Condition, ...]
    touches: tuple[int, ...] = ()
    obligation: str | None = None   # holds only where the impact level demands this obligation

    @property
    def questions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.question for c in self.all))


@dataclass(frozen=True)
class Question:
    id: str
    criterion: int
    type: QuestionType
    text: LocalText
    help: LocalText
    short: LocalText                # the label a finding, a summary or a review request names it by
    choices: tuple[Choice, ...] = ()
    choices_from: str | None = None
    exclusive: tuple[str, ...] = ()
    when: tuple[Condition, ...] = ()
    rules: tuple[Rule, ...] = ()
    required: bool = True
    unknown_allowed: bool = False
    unknown_criterion: int | None = None   # where a « je ne sais pas » is a point to check (context questions)
    min_length: int = 1
    max_length: int = 2000
    minimum: float | None = None
    maximum: float | None = None
    risk: bool = False              # its answer weighs in the impact level's risk score
    mitigation: bool = False        # its answer weighs in the mitigation score
    weights: tuple[tuple[str, int], ...] = ()   # answer (yes/no or choice id) → weight

    def weight(self, value: str) -> int:
        return next((w for v, w in self.weights if v == value), 0)

    @property
    def max_weight(self) -> int:
        """The most a risk question's answer can weigh, or a mitigation question's answers together."""
        values = [w for _v, w in self.weights]
        if self.mitigation and self.type is QuestionType.MULTI:
            return sum(values)
        return max(values, default=0)

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)

    @property
    def checked_by(self) -> int:
        """The criterion an answer of « je ne sais pas » to this question is a point to check on."""
        return self.unknown_criterion if self.unknown_criterion is not None else self.criterion


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
    combined_rules: tuple[CombinedRule, ...] = ()
    read_first: tuple[str, ...] = ()   # the answers a reviewer reads first, in this order
    impact: ImpactPolicy = field(default_factory=ImpactPolicy)   # the config's thresholds and obligations
    _index: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({q.id: q for q in self.questions})

    def question(self, question_id: str) -> Question:
        return self._index[question_id]

    def with_policy(self, policy: ImpactPolicy) -> Questionnaire:
        """The same questionnaire, read with the config's impact thresholds and obligations."""
        return Questionnaire(version=self.version, title=self.title, criteria=self.criteria,
                             questions=self.questions, combined_rules=self.combined_rules,
                             read_first=self.read_first, impact=policy)

    @property
    def weighted(self) -> tuple[Question, ...]:
        """The questions whose answers weigh in the impact level."""
        return tuple(q for q in self.questions if q.risk or q.mitigation)

    def has(self, question_id: str) -> bool:
        return question_id in self._index

    def criterion(self, number: int) -> Criterion:
        return next(c for c in self.criteria if c.number == number)

    def short(self, source: str) -> LocalText:
        """The short label of a question or of a combined rule, by id."""
        if source in self._index:
            return self._index[source].short
        rule = next((r for r in self.combined_rules if r.id == source), None)
        return rule.short if rule is not None else LocalText(source, source)

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
        allowed = {"yes", "no"}
    elif target.type in (QuestionType.CHOICE, QuestionType.MULTI) and not target.choices_from:
        allowed = {c.id for c in target.choices}
    else:
        return
    if target.unknown_allowed:
        allowed.add("unknown")
    for value in _match_values(match):
        if value not in allowed:
            reader.fail(where, f"'{value}' is not a possible answer of '{target.id}' ({', '.join(sorted(allowed))})")


_QUESTION_KEYS = {
    "id", "criterion", "type", "text", "help", "short", "choices", "choices_from", "exclusive", "when",
    "rules", "required", "unknown_allowed", "unknown_criterion", "min_length", "max_length", "min", "max",
    "risk", "mitigation", "weights",
}
_RULE_KEYS = {*MATCH_KEYS, "level", "reason", "criterion", "touches"}
_COMBINED_KEYS = {"id", "criterion", "level", "reason", "short", "all", "touches", "obligation"}
# « Je ne sais pas » is offered by default where an agent may honestly not know: yes/no and choices.
_UNKNOWN_BY_DEFAULT = (QuestionType.YESNO, QuestionType.CHOICE, QuestionType.MULTI)


def _touches(reader: _Reader, raw: Any, where: str, criteria: set[int]) -> tuple[int, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(n, int) for n in raw):
        reader.fail(where, "touches must be a list of criterion numbers, e.g. touches = [1, 4]")
        return ()
    for number in raw:
        if number not in criteria or number == 0:
            reader.fail(where, f"touches names criterion {number}, which is not one of the rated criteria")
    return tuple(raw)


def _level(reader: _Reader, raw: Any, where: str) -> Level | None:
    try:
        level = Level(raw)
    except ValueError:
        reader.fail(where, f"level {raw!r} must be 'blocker' or 'to_check'")
        return None
    if level is Level.OK:
        reader.fail(where, "level 'ok' needs no rule: use 'blocker' or 'to_check'")
    return level


def _conditions(reader: _Reader, raw: Any, where: str) -> tuple[Condition, ...]:
    conditions = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        cwhere = f"{where}[{index}]"
        target = item.get("question") if isinstance(item, dict) else None
        if not isinstance(target, str):
            reader.fail(cwhere, "a condition names the question it reads: question = \"…\"")
            continue
        conditions.append(Condition(target, reader.match({k: v for k, v in item.items() if k != "question"}, cwhere)))
    return tuple(conditions)


def _entry(reader: _Reader, raw: dict[str, Any], place: str, keys: Iterable[str]) -> tuple[str | None, str]:
    """An entry's id (None when it is not a word) and where it is, once its keys are checked."""
    entry_id = raw.get("id")
    where = place + (f" (id '{entry_id}')" if isinstance(entry_id, str) else "")
    for extra in set(raw) - set(keys):
        reader.fail(where, f"unknown key '{extra}'")
    if not isinstance(entry_id, str) or not entry_id.replace("_", "").isalnum():
        reader.fail(where, "id must be a word of letters, digits and underscores")
        return None, where
    return entry_id, where


def _read_question(reader: _Reader, raw: dict[str, Any], index: int, criteria: set[int]) -> Question | None:
    qid, where = _entry(reader, raw, f"questions[{index}]", _QUESTION_KEYS)
    if qid is None:
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
        for extra in set(rr) - _RULE_KEYS:
            reader.fail(rwhere, f"unknown key '{extra}'")
        match = reader.match({k: v for k, v in rr.items() if k in MATCH_KEYS}, rwhere)
        level = _level(reader, rr.get("level"), rwhere)
        reason = reader.text(rr.get("reason"), f"{rwhere}.reason")
        rule_criterion = rr.get("criterion")
        if rule_criterion is not None and rule_criterion not in criteria:
            reader.fail(rwhere, f"criterion {rule_criterion!r} is not declared")
        touches = _touches(reader, rr.get("touches"), rwhere, criteria)
        if reason and level is not None:
            rules.append(Rule(match, level, reason, rule_criterion, touches))

    conditions = _conditions(reader, raw.get("when", []), f"{where}.when")

    unknown_allowed = raw.get("unknown_allowed", qtype in _UNKNOWN_BY_DEFAULT)
    if not isinstance(unknown_allowed, bool):
        reader.fail(where, "unknown_allowed must be true or false")
        unknown_allowed = False
    if not unknown_allowed and criterion > 0 and qtype in _UNKNOWN_BY_DEFAULT:
        reader.fail(where, "unknown_allowed = false is refused on a criterion's yes/no or choice question: "
                    "« je ne sais pas » is an honest answer there, and it becomes a point to check")
    unknown_criterion = raw.get("unknown_criterion")
    if unknown_criterion is not None and (unknown_criterion not in criteria or unknown_criterion == 0):
        reader.fail(where, f"unknown_criterion {unknown_criterion!r} is not one of the rated criteria")
        unknown_criterion = None
    if unknown_criterion is not None and not unknown_allowed:
        reader.fail(where, "unknown_criterion is set but « je ne sais pas » is not allowed (unknown_allowed)")
    if unknown_allowed and criterion == 0 and unknown_criterion is None:
        reader.fail(where, "a context question that allows « je ne sais pas » names the criterion where that "
                    "answer is a point to check, so its reviewers see it: unknown_criterion = N")

    risk, mitigation, weights = _weights(reader, raw, where, qtype, [c.id for c in choices])

    short = reader.text(raw.get("short"), f"{where}.short")
    if text is None or help_text is None or short is None:
        return None
    return Question(
        id=qid, criterion=criterion, type=qtype, text=text, help=help_text, short=short, choices=tuple(choices),
        choices_from=choices_from, exclusive=exclusive, when=conditions, rules=tuple(rules),
        required=bool(raw.get("required", True)), unknown_allowed=unknown_allowed,
        unknown_criterion=unknown_criterion,
        min_length=min_length if isinstance(min_length, int) else 1,
        max_length=max_length if isinstance(max_length, int) else 2000,
        minimum=minimum, maximum=maximum, risk=risk, mitigation=mitigation, weights=weights,
    )


def _weights(reader: _Reader, raw: dict[str, Any], where: str, qtype: QuestionType,
             choices: list[str]) -> tuple[bool, bool, tuple[tuple[str, int], ...]]:
    """`risk = true` or `mitigation = true`, and a whole-number weight for every possible answer."""
    risk, mitigation, table = raw.get("risk", False), raw.get("mitigation", False), raw.get("weights")
    if not isinstance(risk, bool) or not isinstance(mitigation, bool):
        reader.fail(where, "risk and mitigation are true or false")
        return False, False, ()
    if not (risk or mitigation):
        if table is not None:
            reader.fail(where, "weights need risk = true or mitigation = true: say which score they count in")
        return False, False, ()
    if risk and mitigation:
        reader.fail(where, "a question weighs either in the risk score or in the mitigation score, not both")
    answers = ["yes", "no"] if qtype is QuestionType.YESNO else choices
    if qtype not in (QuestionType.YESNO, QuestionType.CHOICE, QuestionType.MULTI) or not answers:
        reader.fail(where, "only yes/no and choice questions with their own choices carry weights")
        return False, False, ()
    if not isinstance(table, dict):
        reader.fail(where, "weights = { answer = N, … } gives every answer its weight, e.g. "
                    "weights = { yes = 2, no = 0 }")
        return False, False, ()
    weights = []
    for answer in answers:
        weight = table.get(answer)
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            reader.fail(where, f"weights: answer '{answer}' needs a whole number, 0 or more")
            continue
        weights.append((answer, weight))
    for extra in set(table) - set(answers):
        reader.fail(where, f"weights: '{extra}' is not an answer of this question "
                    "(« je ne sais pas » counts at the highest weight on a risk question, 0 on a mitigation)")
    return risk, mitigation, tuple(weights)


def _read_combined(reader: _Reader, raw: dict[str, Any], index: int, criteria: set[int]) -> CombinedRule | None:
    rid, where = _entry(reader, raw, f"combined_rules[{index}]", _COMBINED_KEYS)
    if rid is None:
        return None
    criterion = raw.get("criterion")
    if criterion not in criteria or criterion == 0:
        reader.fail(where, f"criterion {criterion!r} is not one of the rated criteria")
    level = _level(reader, raw.get("level"), where)
    if level is Level.BLOCKER:
        # The interview stops on the one answer that blocks, which the agent may correct; a combination
        # names no single answer to correct, so it is a point to check (a blocker belongs to one answer).
        reader.fail(where, "a combined rule is a point to check: level = \"to_check\" (a blocker is a rule of "
                    "the one answer that blocks)")
    conditions = _conditions(reader, raw.get("all"), f"{where}.all")
    if len(conditions) < 1:
        reader.fail(where, "all = [...] lists the answers the rule reads, e.g. "
                    "all = [{ question = \"ctx_data\", any_of = [\"images\"] }]")
    reason = reader.text(raw.get("reason"), f"{where}.reason")
    short = reader.text(raw.get("short"), f"{where}.short")
    touches = _touches(reader, raw.get("touches"), where, criteria)
    obligation = raw.get("obligation")
    if obligation is not None and obligation not in OBLIGATIONS:
        reader.fail(where, f"obligation {obligation!r} is not one of {', '.join(OBLIGATIONS)}")
        obligation = None
    if reason is None or short is None or level is None or not isinstance(criterion, int):
        return None
    return CombinedRule(rid, criterion, level, reason, short, conditions, touches, obligation)


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

    combined: list[CombinedRule] = []
    for ri, raw_rule in enumerate(data.get("combined_rules", [])):
        read = _read_combined(reader, raw_rule, ri, numbers) if isinstance(raw_rule, dict) else None
        if read is None:
            continue
        if read.id in seen or any(r.id == read.id for r in combined):
            reader.fail(f"combined_rules[{ri}]", f"id '{read.id}' is already a question's or another rule's")
            continue
        combined.append(read)

    by_id = {q.id: q for q in questions}
    for ri, combination in enumerate(combined):
        for condition in combination.all:
            target = by_id.get(condition.question)
            where = f"combined_rules[{ri}] (id '{combination.id}').all"
            if target is None:
                reader.fail(where, f"reads unknown question '{condition.question}'")
            else:
                _check_match_against(reader, condition.match, target, where)

    review = data.get("review", {})
    read_first: tuple[str, ...] = ()
    if not isinstance(review, dict) or set(review) - {"read_first"}:
        reader.fail("review", "takes only read_first = [question ids]")
    else:
        listed = review.get("read_first", [])
        if not isinstance(listed, list) or not all(isinstance(q, str) for q in listed):
            reader.fail("review.read_first", "must be a list of question ids")
        else:
            read_first = tuple(listed)
            for question_id in read_first:
                if question_id not in by_id:
                    reader.fail("review.read_first", f"unknown question '{question_id}'")

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
    return Questionnaire(version=version, title=title, criteria=tuple(criteria), questions=tuple(questions),
                         combined_rules=tuple(combined), read_first=read_first)


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


def load_versions(current: Questionnaire, archive: Path = ARCHIVE_DIR) -> dict[str, Questionnaire]:
    """Every version an assessment may have been answered under: the earlier ones kept in `archive`
    (one file per version, named after it), and the current one, which wins."""
    versions: dict[str, Questionnaire] = {}
    for path in sorted(archive.glob("*.toml")):
        questionnaire = load_questionnaire(path)
        if questionnaire.version != path.stem:
            raise QuestionnaireError(path, [f"version {questionnaire.version!r} is not the file's name: "
                                            f"name it {questionnaire.version}.toml"])
        versions[questionnaire.version] = questionnaire.with_policy(current.impact)
    versions[current.version] = current
    return versions
