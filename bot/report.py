"""The assessment report ("fiche"): everything about one use, as Markdown or as one HTML page.

Context, every answer with the question as asked, findings per criterion, the recommendation,
every decision with its comment, the history, the questionnaire version and the next
re-evaluation, with the compass picture embedded in the HTML. `build` reads it (words in the
config's language, instants as stored); `to_html` and `to_markdown` render it from the templates
`report.html` and `report.md` (see `bot.pages`), dates and times in the reader's zone.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.compass import compass_png
from bot.config import Config
from bot.escaping import visible_data
from bot.history import Glossary, trail_sentences
from bot.i18n import DISPLAY_ZONE, Translator, who
from bot.pages import level_words, render
from bot.storage import Tx
from conversations.questionnaire import OTHER_CHOICE, Questionnaire
from conversations.rules import applicable_questions, summarize


async def build(tx: Tx, questionnaire: Questionnaire, config: Config, assessment_id: int,
                versions: Mapping[str, Questionnaire] | None = None) -> dict[str, Any] | None:
    """The report's data; the assessment read in the questionnaire version it was answered under when
    `versions` has it, its trail told in sentences (`bot.history`)."""
    row = await tx.assessment(assessment_id)
    if row is None:
        return None
    interview = row.interview
    questionnaire = (versions or {}).get(interview.questionnaire_version, questionnaire)
    t = Translator(config.locale)
    summary = summarize(questionnaire, interview.answers)
    answers = []
    for question in applicable_questions(questionnaire, interview.answers):
        answer = interview.answers.get(question.id)
        choices = tuple(questionnaire.question(question.id).choices)
        if question.choices_from == "directions" and answer is not None:
            label = config.directions.get(str(answer.value))
            shown = label.label if label else (t.text(OTHER_CHOICE.label) if answer.value == OTHER_CHOICE.id
                                               else str(answer.value))
        else:
            shown = t.answer(question, answer, choices) if answer is not None else "—"
        answers.append({"criterion": question.criterion, "question": t.text(question.text), "answer": shown})
    decisions = await tx.decisions(assessment_id)
    trail = await tx.audit_trail(assessment_id)
    return {
        "id": interview.id, "title": row.title or "", "status": t(f"status.{interview.status.value}"),
        "locale": t.locale,
        "requester": who(interview.requester), "questionnaire_version": interview.questionnaire_version,
        # a withdrawn use is closed: no advice on it
        "recommendation": "—" if interview.status.value == "withdrawn"
        else t(f"recommendation.{summary.recommendation.value}"),
        "decided_at": row.decided_at, "next_review": row.next_review_at,
        "impact": t.impact(summary.impact, questionnaire.impact.mitigation_reduction),
        "levels": [str(c.level) for c in summary.criteria if c.number > 0],
        "criteria": [{"number": c.number, "title": t.text(c.title), "level": str(c.level), "unanswered": c.unanswered,
                      "reasons": [t.finding(f) for f in c.findings]} for c in summary.criteria],
        "answers": answers,
        "exceptions": {t.text(questionnaire.short(q)) if questionnaire.has(q) else q: justification
                       for q, justification in interview.exceptions.items()},
        "decisions": [{"round": d.round, "role": config.roles[d.role].label if d.role in config.roles else d.role,
                       "decision": t(f"decision.{d.decision}"), "reviewer": who(d.reviewer or ""),
                       "comment": d.comment or "", "at": d.decided_at} for d in decisions],
        "history": trail_sentences(Translator(config.locale, config.zone), trail,
                                   Glossary.of(config, questionnaire, versions)),
    }


def _context(report: dict[str, Any], t: Translator) -> dict[str, Any]:
    report = visible_data(report)
    shown = [c for c in report["criteria"] if c["number"] or c["reasons"]]
    return {
        "report": report,
        "facts": [(t("register.field.status"), report["status"]), (t("report.requester"), report["requester"]),
                  (t("report.recommendation"), report["recommendation"]),
                  (t("register.field.decision_date"), t.date(report["decided_at"]) or "—"),
                  (t("register.field.next_review"), t.date(report["next_review"]) or "—"),
                  (t("register.field.questionnaire_version"), report["questionnaire_version"])],
        "criteria": [{**c, "status": level_words(t, c["level"])} for c in shown],
        "decisions": [t("report.decision", at=t.when(d["at"]), role=d["role"], reviewer=d["reviewer"],
                        decision=d["decision"],
                        comment=t("comment.suffix", comment=d["comment"]) if d["comment"] else "")
                      for d in report["decisions"]],
        "history": report["history"],
    }


def _translator(report: dict[str, Any], zone: ZoneInfo) -> Translator:
    return Translator(report.get("locale", "fr"), zone)


def to_markdown(report: dict[str, Any], *, zone: ZoneInfo = DISPLAY_ZONE, template_dir: Path | None = None) -> str:
    """The template `report.md`: every value escaped for Markdown (see `bot.pages`)."""
    t = _translator(report, zone)
    return render("report.md", t, template_dir, **_context(report, t))


def to_html(report: dict[str, Any], png: bytes | None = None, *, zone: ZoneInfo = DISPLAY_ZONE,
            template_dir: Path | None = None) -> str:
    """The template `report.html`, with the compass picture (`png`, drawn here when not given) embedded."""
    t = _translator(report, zone)
    png = png if png is not None else compass_png(report)
    alt = t("report.compass_alt", criteria=t("separator").join(
        t("report.compass_alt_item", number=c["number"], level=t(f"level.{c['level']}"))
        for c in report["criteria"] if c["number"]))
    return render("report.html", t, template_dir, picture=base64.b64encode(png).decode(), alt=alt,
                  **_context(report, t))
