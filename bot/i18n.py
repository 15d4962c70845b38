"""Turns the engine's replies (catalogue keys and parameters) into words, per language.

One catalogue per language in `bot/locales/`; the output is a `Rendered` message, the
transport-neutral form the outbox stores and every adapter draws (Block Kit, Matrix HTML,
terminal text).
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from conversations.answers import Answer
from conversations.commands import COMMANDS, Argument, Purpose
from conversations.impact import Impact
from conversations.model import Brief, Interview, Prompt, Reply
from conversations.questionnaire import Choice, Level, LocalText, Question, Questionnaire, QuestionType
from conversations.rules import BlockerStory, Finding, Recommendation, Summary, applicable_questions

if TYPE_CHECKING:
    from bot.history import Glossary

LOCALES = ("fr", "en")
LOCALE_DIR = Path(__file__).with_name("locales")
DISPLAY_ZONE = ZoneInfo("Europe/Paris")
LEVEL_MARK = {Level.OK: "✅", Level.TO_CHECK: "⚠️", Level.BLOCKER: "⛔"}
HINTED = ("why", "back", "summary", "help")  # the ways around that every question recalls
HELP_GROUPS = tuple(Purpose)  # the help's groups, in the order Purpose declares them
QUOTES_OPEN, QUOTES_CLOSE = "«\"“'‘", "»\"”'’"


class Catalogue:
    """One language's messages, read from its gettext file (`bot/locales/<locale>.po`) when the package loads.

    A msgid is a message key. A plural message names its counting parameter in msgid_plural, and the
    file's Plural-Forms picks the form (French: 0 and 1 singular; English: 1 singular).
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as source:
            messages = read_po(source, locale=path.stem)
        self.counters: Mapping[str, str] = MappingProxyType(
            {str(m.id[0]): str(m.id[1]) for m in messages if m.id and isinstance(m.id, tuple | list)})
        self.keys = frozenset(str(m.id[0] if isinstance(m.id, tuple | list) else m.id) for m in messages if m.id)
        compiled = io.BytesIO()
        write_mo(compiled, messages)
        compiled.seek(0)
        self.translations = gettext.GNUTranslations(compiled)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)

    def __getitem__(self, key: str) -> str:
        """The message's text; a plural message's singular form."""
        return self.template(key, 1)

    def template(self, key: str, count: int | None = None) -> str:
        if key not in self.keys:
            raise KeyError(key)
        counter = self.counters.get(key)
        if counter is None:
            return self.translations.gettext(key)
        if count is None:
            raise KeyError(f"message '{key}' is plural: it needs its '{counter}' parameter")
        return self.translations.ngettext(key, counter, count)


CATALOGUES: Mapping[str, Catalogue] = MappingProxyType(
    {locale: Catalogue(LOCALE_DIR / f"{locale}.po") for locale in LOCALES})


def catalogue(locale: str) -> Catalogue:
    return CATALOGUES[locale]


class Translator:
    """Looks keys up in one language's catalogue; LocalText values follow the same language."""

    def __init__(self, locale: str, zone: ZoneInfo = DISPLAY_ZONE) -> None:
        self.locale = locale if locale in LOCALES else "fr"
        self.strings = catalogue(self.locale)
        self.zone = zone

    def __call__(self, key: str, **params: Any) -> str:
        if key not in self.strings:
            raise KeyError(f"message '{key}' is missing from the '{self.locale}' catalogue")
        counter = self.strings.counters.get(key)
        template = self.strings.template(key, None if counter is None else int(params[counter]))
        return template.format(**{k: self.value(v) for k, v in params.items()})

    def value(self, value: Any) -> Any:
        if isinstance(value, LocalText):
            return value.get(self.locale)
        if isinstance(value, Level):
            return self(f"level.{value}")
        if isinstance(value, list | tuple):
            return "; ".join(str(self.value(v)) for v in value)
        return value

    def text(self, value: LocalText | str | None) -> str:
        if value is None:
            return ""
        return value.get(self.locale) if isinstance(value, LocalText) else value

    def _local(self, iso: str) -> dt.datetime | dt.date:
        moment = dt.datetime.fromisoformat(iso)
        return moment.date() if moment.tzinfo is None else moment.astimezone(self.zone)

    def date(self, iso: str | None, long: bool = False) -> str:
        """A stored instant as a date in the reader's zone: 29/11/2026 (short) or 29 novembre 2026 (long)."""
        if not iso:
            return ""
        local = self._local(iso)
        day = local.date() if isinstance(local, dt.datetime) else local
        if long:
            return format_date(day, "long", locale=self.locale)
        return day.strftime("%d/%m/%Y") if self.locale == "fr" else day.isoformat()  # English: unambiguous in Europe

    def when(self, iso: str | None, long: bool = False) -> str:
        """A stored instant as a date and a time in the reader's zone: 29/11/2026 14:05."""
        if not iso:
            return ""
        local = self._local(iso)
        if not isinstance(local, dt.datetime):
            return self.date(iso, long)
        return f"{self.date(iso, long)} {format_time(local, 'HH:mm', locale=self.locale)}"

    def answer(self, question: Question, answer: Answer | None, choices: tuple[Choice, ...] | None = None) -> str:
        if answer is None:
            return ""
        if answer.unknown:
            return self("answer.unknown")
        if answer.skipped:
            return self("answer.skipped")
        options = choices if choices is not None else question.choices
        labels = {c.id: c.label.get(self.locale) for c in options}
        if question.type is QuestionType.YESNO:
            said = self(f"answer.{answer.value}")
            return self("answer.with_comment", answer=said, comment=answer.comment) if answer.comment else said
        if question.type is QuestionType.CHOICE:
            return labels.get(answer.value, str(answer.value))
        if question.type is QuestionType.MULTI and isinstance(answer.value, list):
            return ", ".join(labels.get(v, str(v)) for v in answer.value)
        return str(answer.value)

    def finding(self, finding: Finding) -> str:
        """A finding as every message shows it: the short label of its question or rule, then its reason."""
        return self("finding", label=finding.label, reason=finding.reason)

    def criteria(self, numbers: tuple[int, ...]) -> str:
        listing = ", ".join(str(n) for n in numbers)
        return self("criteria.one" if len(numbers) == 1 else "criteria.many", numbers=listing)

    def recommendation(self, summary: Summary) -> str:
        """The recommendation line; none while questions wait, with how many and which criteria."""
        if summary.recommendation is Recommendation.INCOMPLETE:
            return self("summary.incomplete", remaining=summary.remaining,
                        criteria=", ".join(str(n) for n in summary.uncovered) or "—")
        return self("summary.recommendation", recommendation=self(f"recommendation.{summary.recommendation}"))

    def impact(self, level: Impact | None, reduction: int) -> list[str]:
        """The impact level, both scores, and the answers that weigh most; nothing under a version without it."""
        if level is None:
            return []
        lowered = self("impact.lowered", reduction=reduction) if level.lowered else ""
        lines = [self("impact.line", level=level.roman, risk=level.risk, risk_max=level.risk_max,
                      percent=level.percent_shown, mitigation=level.mitigation, mitigation_max=level.mitigation_max,
                      mitigation_percent=level.mitigation_percent, lowered=lowered)]
        if level.weighing_most:
            lines.append(self("impact.weighing", answers=", ".join(
                self("impact.weighing_item", label=w.label, weight=w.weight, most=w.most)
                for w in level.weighing_most)))
        return lines

    def state(self, status: object) -> str:
        """A status as said of an assessment, in agreement with it: « L'évaluation n°1 est refusée »."""
        return self(f"state.{status}")

    def title_suffix(self, title: str | None) -> str:
        """A use's title as it follows its number: ` « Assistant »`; empty without one. Quotes the agent typed
        around it are dropped, and runs of spaces collapsed: it is quoted once, spaced once."""
        bare = " ".join((title or "").split())
        if len(bare) > 1 and bare[0] in QUOTES_OPEN and bare[-1] in QUOTES_CLOSE:
            bare = bare[1:-1].strip()
        if not bare:
            return ""
        return f" « {bare} »" if self.locale == "fr" else f' "{bare}"'


@dataclass
class Rendered:
    """A message ready for any transport: plain text plus the structure buttons need."""

    to: str
    kind: str
    assessment: int | None = None
    key: str = ""                   # the catalogue key: tells an adapter which message this is
    heading: str | None = None      # criterion and progress, or a title
    body: str = ""                  # the message proper
    hint: str | None = None         # what the user can type
    question: dict[str, Any] | None = None
    actions: list[dict[str, str]] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)  # summaries: one per criterion
    attachment: dict[str, Any] | None = None  # files to send along: {"image": path, "file": path, "alt": …}

    @property
    def text(self) -> str:
        """The whole message as plain text: heading, body and hint, people by their plain names."""
        return show_people("\n".join(part for part in (self.heading, self.body, self.hint) if part))

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)  # every field is already JSON-ready: no deep copy needed

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rendered:
        return cls(**{k: v for k, v in data.items() if k != "text"})  # older rows also stored the text


def command_word(name: str, locale: str) -> str:
    """What to type for a command, in one language (a word of the command table)."""
    return COMMANDS[name].word(locale)


def _actions(t: Translator, names: tuple[str, ...], assessment: int | None) -> list[dict[str, str]]:
    """The buttons of a reply: each command's label and what it sends (with the reply's assessment when it
    takes one). Yes and no, offered while a withdrawal waits for its confirmation, are answers, not commands."""
    out = []
    for name in names:
        spec = COMMANDS.get(name)
        if spec is None:
            command = t(f"answer.{name}")
        elif assessment is not None and spec.takes_number:
            command = f"{spec.word(t.locale)} {assessment}"
        else:
            command = spec.word(t.locale)
        out.append({"name": name, "label": t(f"action.{name}"), "command": command})
    return out


def _offered(prompt: Prompt) -> bool:
    """Whether the current answer is among the choices offered: one a later version dropped is not shown (its
    id is no word), and answering again is the way on."""
    current = prompt.current
    if current is None or current.value is None or prompt.question.type not in (QuestionType.CHOICE,
                                                                                 QuestionType.MULTI):
        return True
    values = current.value if isinstance(current.value, list) else [current.value]
    return all(value in {choice.id for choice in prompt.choices} for value in values)


def _render_prompt(t: Translator, prompt: Prompt) -> tuple[str, str, str, list[tuple[str, str]]]:
    question = prompt.question
    params = {"criterion": prompt.criterion.number, "criteria_total": prompt.criteria_total,
              "criterion_title": prompt.criterion.title, "number": prompt.number, "total": prompt.total}
    heading = t("question.context" if prompt.criterion.number == 0 else "question.criterion", **params)
    if prompt.total_change:  # why the estimate moved: the answer just given opened or closed questions
        change = abs(prompt.total_change)
        heading += "\n" + t("question.total_up" if prompt.total_change > 0 else "question.total_down", count=change)
    choices = [(choice.id, t.text(choice.label)) for choice in prompt.choices]
    lines = [t.text(question.text)]
    lines += [f"  {index}. {label}" for index, (_id, label) in enumerate(choices, 1)]
    if prompt.current is not None and _offered(prompt):
        key = "question.previous" if prompt.from_previous else "question.current"
        lines.append(t(key, answer=t.answer(question, prompt.current, prompt.choices)))
    hints = [t(f"hint.{question.type}", min=question.min_length, max=question.max_length)]
    if question.unknown_allowed and question.type is not QuestionType.YESNO:
        hints.append(t("hint.unknown"))
    if not question.required:
        hints.append(t("hint.skip", skip=command_word("skip", t.locale)))
    hints.append(t("hint.commands", commands=" · ".join(command_word(n, t.locale) for n in HINTED)))
    return heading, "\n".join(lines), " ".join(hints), choices


def summary_sections(t: Translator, summary: Summary) -> list[dict[str, Any]]:
    sections = []
    for section in summary.criteria:
        if section.number == 0 and not section.findings:
            continue
        incomplete = section.unanswered > 0 and section.level is Level.OK
        sections.append({
            "criterion": section.number, "title": t.text(section.title), "level": str(section.level),
            "mark": "…" if incomplete else LEVEL_MARK[section.level],
            "level_label": t("level.incomplete", count=section.unanswered) if incomplete
            else t(f"level.{section.level}"),
            "reasons": [t.finding(f) for f in section.findings],
        })
    return sections


def summary_lines(t: Translator, sections: list[dict[str, Any]]) -> list[str]:
    lines = []
    for s in sections:
        prefix = f"{s['criterion']}. " if s["criterion"] else ""
        lines.append(f"{s['mark']} {prefix}{s['title']} : {s['level_label']}" if t.locale == "fr"
                     else f"{s['mark']} {prefix}{s['title']}: {s['level_label']}")
        lines.extend(f"    – {reason}" for reason in s["reasons"])
    return lines


def _render_summary(t: Translator, reply: Reply) -> tuple[str, str, str, list[dict[str, Any]]]:
    p = reply.params
    summary: Summary = p["summary"]
    interview: Interview = p["interview"]
    heading = t("summary.title", id=interview.id, title=t.title_suffix(interview.title),
                answered=p["answered"], total=p["total"])
    sections = summary_sections(t, summary)
    lines = summary_lines(t, sections)
    questionnaire: Questionnaire | None = p.get("questionnaire")
    for question_id, justification in p.get("exceptions", {}).items():
        label = questionnaire.short(question_id) if questionnaire is not None else question_id
        lines.append(t("summary.exception", question=t.text(label), justification=justification))
    reduction = questionnaire.impact.mitigation_reduction if questionnaire is not None else 0
    lines += t.impact(summary.impact, reduction)
    lines.append(t.recommendation(summary))
    hint = t("summary.final_hint" if reply.key == "summary.final" else "summary.partial_hint")
    return heading, "\n".join(lines), hint, sections


def _render_blocker(t: Translator, p: Mapping[str, Any]) -> tuple[str, str, str]:
    heading = t("blocker.title", criterion=p["criterion_number"], criterion_title=p["criterion_title"])
    lines = [t.text(p["question_text"])]
    lines.extend(f"  – {t.text(reason)}" for reason in p["reasons"])
    if p.get("principle") is not None:
        lines.append(t("blocker.principle", principle=p["principle"]))
    return heading, "\n".join(lines), t("blocker.ways")


def _render_list(t: Translator, p: Mapping[str, Any]) -> tuple[str, str]:
    briefs: list[Brief] = p["assessments"]
    if not briefs:
        return "", t("list.empty")
    lines = []
    for brief in briefs:
        line = t("list.item", id=brief.id, title=t.title_suffix(brief.title).strip() or t("untitled"),
                 status=t.state(brief.status), updated=t.date(brief.updated_at))
        if brief.next_review_at:
            line += t("list.next_review", date=t.date(brief.next_review_at))
        lines.append(line)
    return t("list.title"), "\n".join(lines)


def _usage(t: Translator, name: str) -> str:
    """A command as it is typed: its word, then what its argument looks like."""
    spec = COMMANDS[name]
    parts = [spec.word(t.locale)]
    if spec.argument in (Argument.WORD, Argument.TEXT):
        parts.append(t(f"help.arg.{name}"))
    elif spec.takes_number:
        parts.append(t("help.arg.number" if spec.argument_required else "help.arg.number_optional"))
    if spec.argument is Argument.NUMBER_COMMENT:
        parts.append(t("help.arg.comment" if spec.comment_required else "help.arg.comment_optional"))
    return " ".join(parts)


def _render_help(t: Translator, p: Mapping[str, Any]) -> str:
    """The commands the user may use now (every command when the reply names none), grouped by purpose, in
    two aligned columns: what to type, what it does."""
    shown = [name for name in p.get("commands", COMMANDS) if name in COMMANDS]
    rows: list[tuple[str, str] | str] = [t("help.intro")]
    for group in HELP_GROUPS:
        names = [name for name in shown if COMMANDS[name].group is group]
        if names:
            rows.append(t(f"help.group.{group}"))
            rows += [(_usage(t, name), t(f"help.{name}")) for name in names]
    width = max((len(row[0]) for row in rows if isinstance(row, tuple)), default=0)
    lines = [row if isinstance(row, str) else f"  {row[0].ljust(width)}   {row[1]}" for row in rows]
    if p.get("interview_open", True):  # while an interview is open, a free-text answer may be awaited
        navigation = [COMMANDS[name].word(t.locale) for name in shown if COMMANDS[name].navigation]
        lines.append(t("help.explicit", navigation=", ".join(navigation)))
    if p.get("question_help") is not None:
        lines.append(t("help.question", help=p["question_help"]))
    return "\n".join(lines)


def _render_status(t: Translator, p: Mapping[str, Any]) -> str:
    text = t("status", id=p["id"], title=t.title_suffix(p["title"]), status=t.state(p["status"]))
    if p.get("recommendation") == Recommendation.INCOMPLETE:
        text += " " + t("status.incomplete", remaining=p.get("remaining", 0))
    elif p.get("recommendation"):
        text += " " + t("status.recommendation", recommendation=t(f"recommendation.{p['recommendation']}"))
    return text


def who(identity: str) -> str:
    """How a person is named in plain text: a Slack user id, a Matrix id, a console name."""
    transport, _, rest = identity.partition(":")
    if transport == "slack":
        return f"@{rest}"
    return rest if transport in ("console", "matrix") else identity


# A person named in a chat message, which each transport shows its own way (a Slack mention, a Matrix id).
# Made of control characters, which every incoming text loses at the door: no user can type one, so no
# user text can name, notify or impersonate anyone.
_PERSON_OPEN, _PERSON_CLOSE = "\x02", "\x03"
_PERSON = re.compile("\x02([^\x02\x03]{1,300})\x03")


def mention(identity: str) -> str:
    return f"{_PERSON_OPEN}{identity}{_PERSON_CLOSE}"


def show_people(text: str, show: Callable[[str], str] = who) -> str:
    """The text with every person the bot named shown by `show` (plain names by default)."""
    return _PERSON.sub(lambda m: show(m.group(1)), text)


def _prepare(t: Translator, params: dict[str, Any]) -> dict[str, Any]:
    """Turn the engine's and the review side's raw values into words of the catalogue."""
    out = dict(params)
    if "status" in out:
        out["status"] = t.state(out["status"])
    if "decision" in out:
        out["decision"] = t(f"decision.{out['decision']}")
    if "recommendation" in out and out["recommendation"] is not None:
        out["recommendation"] = t(f"recommendation.{out['recommendation']}")
    if "title" in out:
        out["title"] = t.title_suffix(out["title"])
    for key in ("date", "from_day", "to_day"):
        if key in out:
            out[key] = t.date(out[key])
    if "comment" in out:
        out["comment"] = t("comment.suffix", comment=out["comment"]) if out["comment"] else ""
    for key in ("requester", "reviewer", "by"):
        if isinstance(out.get(key), str) and ":" in out[key]:
            out[key] = mention(out[key])
    if "by" in out:
        out["by_suffix"] = t("review.refused.by", by=out["by"]) if out["by"] else ""
    if "others" in out:
        out["others"] = t("review.also", numbers=out["others"]) if out["others"] else ""
    return out


def _answer_in(t: Translator, questionnaire: Questionnaire, interview: Interview, question_id: str,
               directions: tuple[Choice, ...]) -> str:
    question = questionnaire.question(question_id)
    choices = directions if question.choices_from == "directions" else None
    return t.answer(question, interview.answers.get(question_id), choices)


def _blocker_line(t: Translator, story: BlockerStory, questionnaire: Questionnaire, interview: Interview,
                  directions: tuple[Choice, ...]) -> str:
    question = questionnaire.question(story.question_id)
    choices = directions if question.choices_from == "directions" else None
    resolution = story.resolution(questionnaire, interview.answers)
    line = t(f"review.request.blocker.{resolution}", label=question.short, criteria=t.criteria(story.criteria),
             raised=t.answer(question, story.raised_with, choices),
             answer=t.answer(question, story.changed_to, choices),
             justification=story.justification or "",
             reasons="; ".join(t.text(f.reason) for f in story.blockers))
    if resolution in ("corrected", "changed") and story.justification:
        line += t("review.request.blocker.after_exception", justification=story.justification)
    return line


def _render_review_request(t: Translator, reply: Reply) -> tuple[str, str, str, list[dict[str, Any]]]:
    """What a DPO reads first (direction, purpose, data, legal basis and its text, hosting, human
    intervention), the blockers current and resolved, the points to check by criterion, then the answers."""
    p = reply.params
    interview: Interview = p["interview"]
    summary: Summary = p["summary"]
    questionnaire: Questionnaire = p["questionnaire"]
    directions: tuple[Choice, ...] = tuple(p.get("directions", ()))
    heading = t("review.request.title", id=interview.id, title=t.title_suffix(interview.title))
    first = [q for q in questionnaire.read_first if q in interview.answers]
    direction = f" — {p['direction']}" if p["direction"] and "ctx_direction" not in first else ""
    lines = [t("review.request.intro", requester=mention(p["requester"]), direction=direction,
               roles=", ".join(p["roles"]))]
    if p["round"] > 1:
        lines.append(t("review.request.round", round=p["round"]))
    if p.get("changes") is not None:
        if p["changes"]:
            changed = ", ".join(t.text(questionnaire.short(q)) for q in p["changes"])
            lines.append(t("review.request.changes", previous=interview.previous_id, changes=changed))
        else:
            lines.append(t("review.request.no_changes", previous=interview.previous_id))
    moved = p.get("impact_change")
    if moved is not None:
        before, after, answers = moved
        if before is not None and after is not None and before.level == after.level:
            lines.append(t("impact.unchanged", previous=interview.previous_id, level=after.roman))
        else:
            lines.append(t("impact.changed", previous=interview.previous_id,
                           before=before.roman if before is not None else t("impact.unknown"),
                           after=after.roman if after is not None else t("impact.unknown"),
                           answers=", ".join(t.text(questionnaire.short(q)) for q in answers) or "—"))
    lines += t.impact(summary.impact, questionnaire.impact.mitigation_reduction)

    if first:
        lines.append(t("review.request.first"))
        for question_id in first:
            shown = (p["direction"] if question_id == "ctx_direction" and p["direction"]
                     else _answer_in(t, questionnaire, interview, question_id, directions))
            lines.append(t("review.request.item", label=questionnaire.short(question_id), answer=shown))

    stories: list[BlockerStory] = p.get("blockers", [])
    lines.append(t("review.request.blockers"))
    lines += [_blocker_line(t, story, questionnaire, interview, directions) for story in stories] or [
        t("review.request.no_blocker")]
    told = {s.question_id for s in stories}
    for question_id, justification in interview.exceptions.items():
        if question_id not in told:  # an exception whose raise predates the trail's answers: still shown
            lines.append(t("summary.exception", question=t.text(questionnaire.short(question_id)),
                           justification=justification))

    lines.append(t("review.request.checks"))
    sections = summary_sections(t, summary)
    for section, criterion in zip(sections, [c for c in summary.criteria if c.number or c.findings], strict=True):
        prefix = f"{section['criterion']}. " if section["criterion"] else ""
        lines.append(f"{section['mark']} {prefix}{section['title']} — {section['level_label']}")
        for finding in criterion.findings:
            lines.append(f"    – {t.finding(finding)}")
            behind = [q for q in finding.questions if questionnaire.has(q)]
            if behind == [finding.question_id]:
                lines.append(t("review.request.answer",
                               answer=_answer_in(t, questionnaire, interview, finding.question_id, directions)))
            elif behind:  # a combined rule: the answers it read
                read = t("separator").join(t("review.request.item_inline", label=questionnaire.short(q),
                                             answer=_answer_in(t, questionnaire, interview, q, directions))
                                           for q in behind)
                lines.append(t("review.request.answers_read" if len(behind) > 1 else "review.request.answer_read",
                               answers=read))

    lines.append(t("review.request.answers"))
    for part in questionnaire.criteria:
        asked = [q for q in applicable_questions(questionnaire, interview.answers)
                 if q.criterion == part.number and q.id in interview.answers and q.id not in first]
        if not asked:
            continue
        prefix = f"{part.number}. " if part.number else ""
        lines.append(f"  {prefix}{t.text(part.title)}")
        lines += [t("review.request.answer_item", label=q.short,
                    answer=_answer_in(t, questionnaire, interview, q.id, directions)) for q in asked]
    lines.append(t.recommendation(summary))
    return heading, "\n".join(lines), t("review.request.hint", id=interview.id), sections


def _render_blocker_corrected(t: Translator, p: Mapping[str, Any]) -> str:
    question: Question = p["question"]
    choices = p["choices"] if question.choices_from == "directions" else None
    return t("review.blocker_corrected", id=p["id"], title=t.title_suffix(p["title"]), requester=who(p["requester"]),
             label=p["label"], previous=t.answer(question, p["previous"], choices),
             answer=t.answer(question, p["answer"], choices))


def _render_pending(t: Translator, p: Mapping[str, Any]) -> tuple[str, str]:
    if not p["reviewer"]:
        return "", t("review.pending.not_reviewer")
    if not p["items"]:
        return "", t("review.pending.empty")
    lines = [t("review.pending.item", **_prepare(t, item)) for item in p["items"]]
    return t("review.pending.title"), "\n".join(lines)


def _render_history(t: Translator, p: Mapping[str, Any], glossary: Glossary | None) -> tuple[str, str]:
    """The trail in sentences, people named so that each transport shows them its own way."""
    from bot.history import Entry, Glossary, trail_sentences
    entries = [Entry.of(entry) for entry in p["entries"]]
    lines = trail_sentences(t, entries, glossary or Glossary(), person=mention)
    return t("review.history.title", id=p["id"]), "\n".join(f"  {line}" for line in lines)


def _render_closed(t: Translator, p: Mapping[str, Any]) -> str:
    """A review request closed by another reviewer's decision: one message per outcome, in agreement."""
    key = f"review.closed.{p.get('status')}"
    return t(key if key in t.strings else "review.closed", **_prepare(t, dict(p)))


DIGEST_SECTIONS = (("new", "new"), ("pending", "pending"), ("blockers", "blocker"), ("decisions", "decision"),
                   ("soon", "soon"), ("overdue", "overdue"), ("overdue_reviews", "overdue_review"),
                   ("questions", "question"), ("absences", "absence"))


def _digest_items(t: Translator, digest: Mapping[str, Any], name: str, item_key: str) -> list[str]:
    """One section of a digest, a line per item (with its impact level when known), then how many more."""
    items = [t(f"digest.item.{item_key}", **_prepare(t, item))
             + (t("digest.impact", level=item["impact"]) if item.get("impact") else "") for item in digest[name]]
    more = digest.get(f"{name}_more", 0)
    return [*items, t("digest.more", count=more)] if more else items


def _render_digest(t: Translator, reply: Reply) -> tuple[str, str, list[dict[str, Any]]]:
    p = reply.params
    if reply.key == "digest.reviewer":
        heading = t("digest.reviewer.title")
    else:
        heading = t("digest.manager.title", directions=", ".join(p["directions"]), since=t.date(p["since"]))
    lines: list[str] = []
    sections = []
    for name, item_key in DIGEST_SECTIONS:
        if name not in p:
            continue
        items = _digest_items(t, p, name, item_key)
        more = p.get(f"{name}_more", 0)
        sections.append({"name": name, "title": t(f"digest.{name}"), "items": items})
        lines.append(f"{t(f'digest.{name}')} ({len(p[name]) + more})")
        lines.extend(items or [t("digest.none")])
    head = p.get("audit_head")
    if head:  # what was published can be checked later: `boussole audit verify --checkpoint N:HASH`
        lines.append(t("digest.audit_head", count=head["count"], hash=head["hash"]))
    return heading, "\n".join(lines), sections


NEXT_COMMAND = {"overdue": "reevaluate", "question": "reply"}  # the command a dashboard's next step names


def _render_dashboard(t: Translator, reply: Reply) -> tuple[str, str, str, list[dict[str, Any]]]:
    """The user's overview: their assessments with the next step of each, the reviews waiting for them, their
    directions' digest. `sections` carries each line with its own buttons, for the transports that draw them
    (Slack Home); the body says the same in text, with what to type."""
    p = reply.params

    def word(name: str) -> str:
        return command_word(name, t.locale)

    def more(count: int) -> str:
        return t("digest.more", count=count).strip() if count else ""

    mine: list[dict[str, Any]] = []
    for item in p["assessments"]:
        text = t("dashboard.assessment", id=item["id"], title=t.title_suffix(item["title"]),
                 status=t.state(item["status"]))
        if item["next"] != "none":
            step = t(f"dashboard.next.{item['next']}", roles=item["roles"], date=t.date(item["date"]),
                     command=f"{word(NEXT_COMMAND.get(item['next'], 'resume'))} {item['id']}")
            text = t("dashboard.with_next", item=text, next=step)
        mine.append({"text": text, "assessment": item["id"], "actions": _actions(t, item["actions"], item["id"])})
    closed = t("dashboard.closed", count=p["closed"], list=word("list")) if p["closed"] else ""
    sections: list[dict[str, Any]] = [{
        "name": "assessments", "title": t("dashboard.assessments", count=p["assessments_more"] + len(mine)),
        "items": mine, "more": more(p["assessments_more"]),
        "empty": t("dashboard.assessments.empty", new=word("new")), "note": closed}]
    if p["reviewer"]:
        reviews = []
        for item in p["reviews"]:
            shown = {k: v for k, v in item.items() if k not in ("questions", "actions")}
            text = t("review.pending.item", **_prepare(t, shown))
            if item["questions"]:
                text += t("dashboard.questions", count=item["questions"])
            reviews.append({"text": text.strip(), "assessment": item["id"],
                            "actions": _actions(t, item["actions"], item["id"])})
        sections.append({"name": "reviews", "title": t("dashboard.reviews", count=p["reviews_more"] + len(reviews)),
                         "items": reviews, "more": more(p["reviews_more"]), "empty": t("review.pending.empty"),
                         "note": ""})
    digest = p.get("digest")
    if digest is not None:
        parts: list[dict[str, Any]] = []
        for name, item_key in DIGEST_SECTIONS:
            extra = digest.get(f"{name}_more", 0)
            if not digest.get(name) and not extra:
                continue
            part = [f"{t(f'digest.{name}')} ({len(digest[name]) + extra})", *_digest_items(t, digest, name, item_key)]
            parts.append({"text": "\n".join(part), "assessment": None, "actions": []})
        sections.append({"name": "directions", "title": t("dashboard.directions", directions=", ".join(
                             digest["directions"]), since=t.date(digest["since"])),
                         "items": parts, "more": "", "empty": t("dashboard.directions.empty"), "note": ""})

    lines: list[str] = []
    for section in sections:
        lines.append(section["title"])
        lines += [_indented(item["text"]) for item in section["items"]] or [_indented(section["empty"])]
        lines += [_indented(extra) for extra in (section["more"], section["note"]) if extra]
    hint = t("dashboard.hint", resume=word("resume"), report=word("report"))
    if p["reviewer"]:
        hint += " " + t("dashboard.hint.reviewer", approve=word("approve"), reject=word("reject"))
    return t("dashboard.title"), "\n".join(lines), hint, sections


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.split("\n"))


def render(reply: Reply, locale: str, zone: ZoneInfo = DISPLAY_ZONE, glossary: Glossary | None = None) -> Rendered:
    """The words of one reply in one language, its dates and times in the reader's zone; `glossary` names the
    questions and roles an audit trail refers to by code."""
    t = Translator(locale, zone)
    params = dict(reply.params)
    heading: str | None = None
    hint: str | None = None
    sections: list[dict[str, Any]] = []
    question = None
    if reply.prompt is not None:
        heading, body, hint, choices = _render_prompt(t, reply.prompt)
        q = reply.prompt.question
        question = {"id": q.id, "criterion": q.criterion, "type": str(q.type),
                    "number": reply.prompt.number, "total": reply.prompt.total, "required": q.required,
                    "choices": [{"id": choice_id, "label": label} for choice_id, label in choices],
                    "help": t.text(q.help), "unknown": q.unknown_allowed,
                    "current": reply.prompt.current is not None}
    elif reply.key.startswith("summary."):
        heading, body, hint, sections = _render_summary(t, reply)
    elif reply.key == "blocker":
        heading, body, hint = _render_blocker(t, params)
    elif reply.key == "list":
        heading, body = _render_list(t, params)
    elif reply.key == "help":
        body = _render_help(t, params)
    elif reply.key == "status":
        body = _render_status(t, params)
    elif reply.key == "review.request":
        heading, body, hint, sections = _render_review_request(t, reply)
    elif reply.key == "review.blocker_corrected":
        body = _render_blocker_corrected(t, params)
    elif reply.key == "review.pending":
        heading, body = _render_pending(t, params)
    elif reply.key == "review.history":
        heading, body = _render_history(t, params, glossary)
    elif reply.key.startswith("digest."):
        heading, body, sections = _render_digest(t, reply)
    elif reply.key == "review.closed":
        body = _render_closed(t, params)
    elif reply.key == "dashboard":
        heading, body, hint, sections = _render_dashboard(t, reply)
    elif reply.key == "report.ready":
        marks = {"ok": "✅", "to_check": "⚠️", "blocker": "⛔"}
        body = t(reply.key, id=params["id"], title=t.title_suffix(params["title"]), page=params["page"],
                 image=params["image"], recommendation=params["recommendation"],
                 compass=" ".join(f"{n}{marks[level]}" for n, level in enumerate(params["levels"], 1)))
    else:
        body = t(reply.key, **_prepare(t, params))
    return Rendered(to=reply.to, kind=str(reply.kind), assessment=reply.assessment, key=reply.key,
                    heading=heading, body=body, hint=hint, question=question,
                    actions=_actions(t, reply.actions, reply.assessment),
                    sections=sections, attachment=params.get("attachment"))
