"""The public register of AI uses: entries built from the database, exported as CSV, JSON, Markdown or HTML.

One entry per use, with what the algorithm registers of other cities publish (purpose,
department, supplier, data, legal basis, human oversight, the status of each criterion…).
Nothing internal leaks: no agent names or identities, no reviewers' comments, no exceptional-
review justifications, no free-text answers beyond those meant for the public — unless
`internal=True`, for the city's own use. A use whose requester declined detailed publication
(c6_register: non) is still listed, with its name, direction and status only, marked
"publication détaillée non autorisée" with the reason given.

Every export carries the audit trail's head read with its entries (`boussole audit verify
--checkpoint COUNT:HASH` checks a later trail against it): a field `audit_head` in JSON, a closing
line in Markdown and HTML, and in CSV a last row that is not a use: `#audit_head` in the id column,
`COUNT:HASH` in the next, the other cells empty (so that every row has as many cells as the header).
Every export writes the text through `bot.escaping`: no control characters, no spreadsheet formulas,
no Markdown or HTML markup but the register's own.

JSON is the machine format: codes (`approved_with_reservations`, `to_check`) and ISO instants, as its
schema says. The formats people read — HTML and Markdown (from the templates `register.html` and
`register.md`, see `bot.pages`) and CSV — show words and dates in the reader's zone, and carry the same
facts for each use: all three read them from `facts`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.escaping import csv_cell, visible_data
from bot.i18n import DISPLAY_ZONE, Translator, who
from bot.pages import level_words, render
from bot.storage import AuditHead, Database, ReviewRow, Tx
from conversations.answers import Answer
from conversations.questionnaire import Questionnaire, load_versions
from conversations.rules import summarize

SCHEMA_PATH = Path(__file__).with_name("register.schema.json")
PUBLIC_STATUSES = ("approved", "approved_with_reservations")
LISTED_STATUSES = (*PUBLIC_STATUSES, "in_review", "rejected", "withdrawn")
DETAILS = ("purpose", "ai_kind", "supplier", "operator", "hosting", "data_categories", "legal_basis",
           "human_oversight", "contact", "impact_detail")  # what a use published without detail leaves out
# What the formats for people show of a use, in this order (its name, purpose and criteria apart)
FACTS = ("direction", "ai_kind", "supplier", "operator", "hosting", "data_categories", "legal_basis",
         "human_oversight", "status", "decision_date", "decided_by_roles", "next_review", "contact",
         "questionnaire_version", "impact_level", "impact_detail")
NOT_DETAILED_FACTS = ("direction", "status")


def _said(t: Translator, questionnaire: Questionnaire, config: Config, answers: Mapping[str, Answer],
          question_id: str) -> str:
    """The answer to one question in words, as the register shows it."""
    question = questionnaire.question(question_id) if questionnaire.has(question_id) else None
    answer = answers.get(question_id)
    if question is None or answer is None:
        return ""
    if question.choices_from == "directions":
        direction = config.directions.get(str(answer.value))
        return direction.label if direction else str(answer.value)
    return t.answer(question, answer)


def publication_note(item: Mapping[str, Any], t: Translator) -> str:
    """Empty for a use published in detail; otherwise the mark and the reason given."""
    if item["detailed_publication"]:
        return ""
    reason = item["publication_reason"]
    return t("register.not_detailed.reason", reason=reason) if reason else t("register.not_detailed")


async def entries(db: Database, questionnaire: Questionnaire, config: Config, *, include_all: bool = False,
                  internal: bool = False) -> list[dict[str, Any]]:
    """The register's entries, ordered by number; approved uses only unless `include_all`."""
    async with db.reading() as tx:
        return await _entries(tx, questionnaire, config, include_all=include_all, internal=internal)


async def snapshot(db: Database, questionnaire: Questionnaire, config: Config, *, include_all: bool = False,
                   internal: bool = False) -> tuple[list[dict[str, Any]], AuditHead]:
    """The entries and the audit trail's head, read together: the head an export of these entries carries."""
    async with db.reading() as tx:
        items = await _entries(tx, questionnaire, config, include_all=include_all, internal=internal)
        return items, await tx.audit_head()


async def _entries(tx: Tx, questionnaire: Questionnaire, config: Config, *, include_all: bool,
                   internal: bool) -> list[dict[str, Any]]:
    statuses = LISTED_STATUSES if include_all else PUBLIC_STATUSES
    t = Translator(config.locale)
    questionnaire = questionnaire.with_policy(config.impact.policy())
    versions = load_versions(questionnaire)
    rows = await tx.assessments_with_status(statuses)
    decided = await tx.current_decisions()
    by_assessment: dict[int, list[ReviewRow]] = {}
    for review in decided:
        by_assessment.setdefault(review.assessment_id, []).append(review)
    out = []
    for row in rows:
        interview = row.interview
        answers = interview.answers
        own = versions.get(interview.questionnaire_version, questionnaire)

        said = functools.partial(_said, t, own, config, answers)

        summary = summarize(own, answers)
        criteria = [{"number": c.number, "title": t.text(c.title), "status": str(c.level),
                     "reasons": [t.finding(f) for f in c.findings]}
                    for c in summary.criteria if c.number > 0]
        direction = config.directions.get(interview.direction or "")
        decisions = by_assessment.get(interview.id, [])
        entry: dict[str, Any] = {
            "id": interview.id,
            "name": row.title or "",
            "purpose": said("ctx_purpose"),
            "direction": direction.label if direction else (interview.direction or ""),
            "ai_kind": said("ctx_ai_kind"),
            "supplier": said("ctx_supplier"),
            "operator": said("ctx_operator"),
            "hosting": said("ctx_hosting"),
            "data_categories": said("ctx_data"),
            "legal_basis": said("c2_legal_basis"),
            "human_oversight": said("c6_individual_decision"),
            "status": interview.status.value,
            "status_label": t(f"status.{interview.status.value}"),
            "decision_date": row.decided_at,
            "decided_by_roles": sorted({config.roles[d.role].label if d.role in config.roles else d.role
                                        for d in decisions}),
            "next_review": row.next_review_at,
            "criteria": criteria,
            # a withdrawn use is closed: no advice on it
            "recommendation": summary.recommendation.value if interview.status.value != "withdrawn" else None,
            "contact": said("c6_accountable"),
            "questionnaire_version": interview.questionnaire_version,
            "detailed_publication": True,
            "publication_reason": None,
            "publication_note": "",
            # the level is always public; its scores and weighing answers where the level's config says so
            "impact_level": summary.impact.roman if summary.impact is not None else None,
            "impact_detail": (" ".join(t.impact(summary.impact, own.impact.mitigation_reduction))
                              if summary.impact is not None
                              and config.impact.level(summary.impact.level).publish == "detail" else ""),
        }
        if answers.get("c6_register") == Answer("no"):
            entry["detailed_publication"] = False
            entry["publication_reason"] = said("c6_register_reason") or None
            entry["publication_note"] = publication_note(entry, t)
            if not internal:  # the city keeps the details for itself; the public sees name, direction, status
                entry.update({key: "" for key in DETAILS})
                entry["criteria"] = []
                entry["recommendation"] = None
        if internal:
            entry["internal"] = {
                "requester": interview.requester,
                "decisions": [{"role": d.role, "decision": d.decision, "reviewer": d.reviewer,
                               "comment": d.comment or "", "decided_at": d.decided_at,
                               "role_label": config.roles[d.role].label if d.role in config.roles else d.role}
                              for d in decisions],
                "exceptional_justifications": dict(interview.exceptions),
                # the same, by the question's short label, for the formats people read
                "exceptions": [{"question": t.text(own.short(q)) if own.has(q) else q, "justification": j}
                               for q, j in interview.exceptions.items()],
            }
        out.append(entry)
    return out


def _fact(item: Mapping[str, Any], key: str, t: Translator) -> str:
    if key == "status":
        return t(f"status.{item['status']}")
    if key in ("decision_date", "next_review"):
        return t.date(item[key])
    if key == "decided_by_roles":
        return ", ".join(item[key])
    return "" if item[key] is None else str(item[key])


def _fact_keys(item: Mapping[str, Any]) -> tuple[str, ...]:
    # the public sees a use published without detail by its direction and status; the city's own copy, all of it
    return FACTS if item["detailed_publication"] or "internal" in item else NOT_DETAILED_FACTS


def facts(item: Mapping[str, Any], t: Translator) -> list[tuple[str, str]]:
    """A use's facts as people read them, (label, value) with the value empty when unknown: the same list in
    HTML, Markdown and CSV."""
    return [(t(f"register.field.{key}"), _fact(item, key, t)) for key in _fact_keys(item)]


def criterion_text(criterion: Mapping[str, Any], t: Translator) -> str:
    """A criterion in one cell: its status in words, then its reasons."""
    status = level_words(t, criterion["status"])
    if not criterion["reasons"]:
        return status
    return t("register.criterion_cell", status=status, reasons=t("separator").join(criterion["reasons"]))


def _audit_head_line(head: AuditHead, t: Translator) -> str:
    return t("register.audit_head", count=head.count, hash=head.hash, checkpoint=head.checkpoint)


def to_csv(items: list[dict[str, Any]], head: AuditHead, t: Translator | None = None) -> str:
    """UTF-8 with a byte-order mark so that Excel reads the accents; headers and values in words, dates in the
    reader's zone; multi-line fields quoted whole; no cell starts a formula; the last row holds the audit head
    (see the module's docstring)."""
    t = t or Translator("fr")
    items = visible_data(items)
    internal = bool(items) and "internal" in items[0]
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    columns = [t("register.field.id"), t("register.field.name"), t("register.field.purpose"),
               *(t(f"register.field.{key}") for key in FACTS),
               *(t("register.field.criterion", number=n) for n in range(1, 8)), t("register.field.publication")]
    if internal:
        columns += [t("register.field.requester"), t("register.field.decisions"), t("register.field.exceptions")]
    writer.writerow(columns)
    for item in items:
        shown = {key: _fact(item, key, t) for key in _fact_keys(item)}
        by_number = {c["number"]: c for c in item["criteria"]}
        row = [item["id"], item["name"], item["purpose"], *(shown.get(key, "") for key in FACTS),
               *(criterion_text(by_number[n], t) if n in by_number else "" for n in range(1, 8)),
               publication_note(item, t)]
        if internal:
            kept = item["internal"]
            decisions = [t("register.internal_decision", role=d["role_label"], decision=t(f"decision.{d['decision']}"),
                           reviewer=who(d["reviewer"] or ""), date=t.date(d["decided_at"]),
                           comment=t("comment.suffix", comment=d["comment"]) if d["comment"] else "")
                         for d in kept["decisions"]]
            exceptions = [t("register.internal_exception", question=e["question"], justification=e["justification"])
                          for e in kept["exceptions"]]
            row += [who(kept["requester"]), "\n".join(decisions), "\n".join(exceptions)]
        writer.writerow([csv_cell(v) for v in row])
    writer.writerow(["#audit_head", head.checkpoint, *[""] * (len(columns) - 2)])
    return "\ufeff" + buffer.getvalue()


def to_json(items: list[dict[str, Any]], generated_at: str, head: AuditHead) -> str:
    return json.dumps({"register": "Registre des usages de l'intelligence artificielle", "generated_at": generated_at,
                       "count": len(items), "entries": visible_data(items), "audit_head": head.as_json()},
                      ensure_ascii=False, indent=2)


def _page(items: list[dict[str, Any]], name: str, generated_at: str, head: AuditHead, t: Translator,
          template_dir: Path | None) -> str:
    if name.endswith(".html"):  # Markdown's filters drop control characters themselves
        items = visible_data(items)
    uses = [{"item": item, "facts": facts(item, t), "note": publication_note(item, t),
             "criteria": [{"number": c["number"], "title": c["title"], "status": level_words(t, c["status"]),
                           "reasons": c["reasons"]} for c in item["criteria"]]} for item in items]
    return render(name, t, template_dir, uses=uses, generated_at=generated_at, audit_head=_audit_head_line(head, t))


def to_markdown(items: list[dict[str, Any]], generated_at: str, head: AuditHead, t: Translator | None = None, *,
                template_dir: Path | None = None) -> str:
    """The template `register.md`: every value escaped for Markdown (see `bot.pages`)."""
    return _page(items, "register.md", generated_at, head, t or Translator("fr"), template_dir)


def to_html(items: list[dict[str, Any]], generated_at: str, head: AuditHead, t: Translator | None = None, *,
            template_dir: Path | None = None) -> str:
    """The template `register.html`: one static page, readable without JavaScript, printable, with real table
    headers, that passes axe-core's checks."""
    return _page(items, "register.html", generated_at, head, t or Translator("fr"), template_dir)


def export(items: list[dict[str, Any]], fmt: str, now: dt.datetime, *, head: AuditHead, locale: str = "fr",
           zone: ZoneInfo = DISPLAY_ZONE, template_dir: Path | None = None) -> str:
    """The register in one format; `head` is the audit trail's head read with the entries (see `snapshot`);
    words in `locale`, dates and times in `zone`; `template_dir` holds a city's own templates, if any."""
    generated = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    t = Translator(locale, zone)
    if fmt == "csv":
        return to_csv(items, head, t)
    if fmt == "json":
        return to_json(items, generated, head)
    if fmt == "md":
        return to_markdown(items, generated, head, t, template_dir=template_dir)
    if fmt == "html":
        return to_html(items, generated, head, t, template_dir=template_dir)
    raise ValueError(f"unknown format {fmt!r}: csv, json, md or html")
