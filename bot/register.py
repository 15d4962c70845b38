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
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import html
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.escaping import IN_CELL_BREAK, LINE_BREAK, csv_cell, markdown_text, visible_data
from bot.i18n import Translator
from bot.storage import AuditHead, Database, ReviewRow, Tx
from conversations.answers import Answer
from conversations.questionnaire import Questionnaire, load_versions
from conversations.rules import summarize

SCHEMA_PATH = Path(__file__).with_name("register.schema.json")
PUBLIC_STATUSES = ("approved", "approved_with_reservations")
LISTED_STATUSES = (*PUBLIC_STATUSES, "in_review", "rejected", "withdrawn")
NOT_DETAILED = "publication détaillée non autorisée"
DETAILS = ("purpose", "ai_kind", "supplier", "operator", "hosting", "data_categories", "legal_basis",
           "human_oversight", "contact", "impact_detail")  # what a use published without detail leaves out


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


def publication_note(item: dict[str, Any]) -> str:
    """Empty for a use published in detail; otherwise the mark and the reason given."""
    if item["detailed_publication"]:
        return ""
    reason = item["publication_reason"]
    return f"{NOT_DETAILED} — motif : {reason}" if reason else NOT_DETAILED


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
    t = Translator("fr")
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
        criteria = [{"number": c.number, "title": c.title.fr, "status": str(c.level),
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
            entry["publication_note"] = publication_note(entry)
            if not internal:  # the city keeps the details for itself; the public sees name, direction, status
                entry.update({key: "" for key in DETAILS})
                entry["criteria"] = []
                entry["recommendation"] = None
        if internal:
            entry["internal"] = {
                "requester": interview.requester,
                "decisions": [{"role": d.role, "decision": d.decision, "reviewer": d.reviewer,
                               "comment": d.comment or "", "decided_at": d.decided_at} for d in decisions],
                "exceptional_justifications": dict(interview.exceptions),
            }
        out.append(entry)
    return out


CSV_COLUMNS = ["id", "name", "purpose", "direction", "ai_kind", "supplier", "operator", "hosting", "data_categories",
               "legal_basis", "human_oversight", "status", "decision_date", "decided_by_roles", "next_review",
               *(f"criterion_{n}" for n in range(1, 8)), "contact", "questionnaire_version", "publication",
               "impact_level", "impact_detail"]


def _head_line(head: AuditHead) -> str:
    return (f"Journal d'audit à la génération : {head.count} enregistrement(s), empreinte du dernier {head.hash} "
            f"(à vérifier par boussole audit verify --checkpoint {head.checkpoint}).")


def to_csv(items: list[dict[str, Any]], head: AuditHead) -> str:
    """UTF-8 with a byte-order mark so that Excel reads the accents; multi-line fields quoted whole; no cell
    starts a formula; the last row holds the audit head (see the module's docstring)."""
    items = visible_data(items)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    columns = CSV_COLUMNS + (["requester", "decisions", "exceptional_justifications"]
                             if items and "internal" in items[0] else [])
    writer.writerow(columns)
    for item in items:
        by_number = {c["number"]: c for c in item["criteria"]}
        row = [item[c] if not c.startswith("criterion_") and c in item else "" for c in CSV_COLUMNS]
        for n in range(1, 8):
            c = by_number.get(n)
            row[CSV_COLUMNS.index(f"criterion_{n}")] = (
                f"{c['status']}: {' / '.join(c['reasons'])}" if c and c["reasons"] else (c["status"] if c else ""))
        row[CSV_COLUMNS.index("decided_by_roles")] = ", ".join(item["decided_by_roles"])
        row[CSV_COLUMNS.index("publication")] = item["publication_note"]
        row = ["" if v is None else v for v in row]
        if "internal" in item:
            internal = item["internal"]
            row += [internal["requester"], json.dumps(internal["decisions"], ensure_ascii=False),
                    json.dumps(internal["exceptional_justifications"], ensure_ascii=False)]
        writer.writerow([csv_cell(v) for v in row])
    writer.writerow(["#audit_head", head.checkpoint, *[""] * (len(columns) - 2)])
    return "\ufeff" + buffer.getvalue()


def to_json(items: list[dict[str, Any]], generated_at: str, head: AuditHead) -> str:
    return json.dumps({"register": "Registre des usages de l'intelligence artificielle", "generated_at": generated_at,
                       "count": len(items), "entries": visible_data(items), "audit_head": head.as_json()},
                      ensure_ascii=False, indent=2)


LEVEL_WORDS = {"ok": "✅ conforme", "to_check": "⚠️ à vérifier", "blocker": "⛔ bloquant"}


def to_markdown(items: list[dict[str, Any]], generated_at: str, head: AuditHead) -> str:
    """Every value through `markdown_text`: one line in headings and table cells, hard breaks in list items."""
    def cell(text: str) -> str:
        return markdown_text(text, newline=IN_CELL_BREAK)

    def listed(text: str) -> str:
        return markdown_text(text, newline=LINE_BREAK + "  ")

    lines = ["# Registre des usages de l'intelligence artificielle", "",
             f"Généré le {cell(generated_at)}. {len(items)} usage(s).", "",
             "| N° | Nom | Direction | Type d'IA | Statut | Prochaine réévaluation |",
             "|---|---|---|---|---|---|"]
    for item in items:
        cells = [str(item["id"]), item["name"], item["direction"], item["ai_kind"], item["status_label"],
                 (item["next_review"] or "")[:10]]
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    for item in items:
        if not item["detailed_publication"]:
            note = "*" + markdown_text(item["publication_note"]) + ".*"
            lines += ["", f"## {item['id']}. {cell(item['name'])}", "", note, "",
                      f"- Direction : {listed(item['direction'])}", f"- Statut : {listed(item['status_label'])}"]
            continue
        lines += ["", f"## {item['id']}. {cell(item['name'])}", "", markdown_text(item["purpose"]), "",
                  f"- Direction : {listed(item['direction'])}", f"- Prestataire ou modèle : {listed(item['supplier'])}",
                  f"- Données utilisées : {listed(item['data_categories'])}",
                  f"- Base légale : {listed(item['legal_basis'])}",
                  f"- Intervention humaine : {listed(item['human_oversight'])}",
                  f"- Statut : {listed(item['status_label'])}" + (f", décidé le {cell(item['decision_date'][:10])}"
                                                                  if item["decision_date"] else ""),
                  f"- Contact : {listed(item['contact'])}",
                  f"- Version du questionnaire : {listed(item['questionnaire_version'])}",
                  *([f"- Niveau d'impact : {listed(item['impact_level'])}"] if item["impact_level"] else []),
                  *([f"- {listed(item['impact_detail'])}"] if item["impact_detail"] else []),
                  "", "| Critère | Statut | Motifs |", "|---|---|---|"]
        for c in item["criteria"]:
            lines.append(f"| {c['number']}. {cell(c['title'])} | {LEVEL_WORDS[c['status']]} | "
                         f"{' ; '.join(cell(r) for r in c['reasons']) or '—'} |")
    lines += ["", markdown_text(_head_line(head))]
    return "\n".join(lines) + "\n"


HTML_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1b1b1b;background:#fff;
max-width:72rem;margin:0 auto;padding:1rem 1.5rem;line-height:1.5}
h1{font-size:1.8rem}h2{font-size:1.35rem;margin-top:2.2rem;border-top:1px solid #ccc;padding-top:1rem}
table{border-collapse:collapse;width:100%;margin:.8rem 0}th,td{border:1px solid #6b6b6b;padding:.35rem .5rem;
text-align:left;vertical-align:top}th{background:#e8eef7}caption{text-align:left;font-weight:600;padding:.3rem 0}
dl{display:grid;grid-template-columns:14rem 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
a{color:#0b4f9c}.level{font-weight:600}
@media print{body{max-width:none}h2{page-break-before:auto}a{color:#000}}
"""


def to_html(items: list[dict[str, Any]], generated_at: str, head: AuditHead) -> str:
    """One static page, French, readable without JavaScript, printable, with real table headers."""
    items = visible_data(items)
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="fr">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>Registre des usages de l'intelligence artificielle</title>",
             f"<style>{HTML_STYLE}</style>", "</head>", "<body>", "<main>",
             "<h1>Registre des usages de l'intelligence artificielle</h1>",
             f"<p>Généré le {e(generated_at)}. {len(items)} usage(s) publié(s). Chaque usage a été évalué au regard "
             "des sept critères de la boussole de la doctrine IA de la collectivité.</p>",
             "<table>", "<caption>Liste des usages</caption>",
             '<thead><tr><th scope="col">N°</th><th scope="col">Nom</th><th scope="col">Direction</th>'
             '<th scope="col">Type d\'IA</th><th scope="col">Statut</th>'
             '<th scope="col">Prochaine réévaluation</th></tr></thead>', "<tbody>"]
    for item in items:
        parts.append(f'<tr><td>{item["id"]}</td><th scope="row"><a href="#usage-{item["id"]}">{e(item["name"])}</a>'
                     f'</th><td>{e(item["direction"])}</td><td>{e(item["ai_kind"])}</td>'
                     f'<td>{e(item["status_label"])}</td><td>{e((item["next_review"] or "—")[:10])}</td></tr>')
    parts += ["</tbody>", "</table>"]
    for item in items:
        if not item["detailed_publication"]:
            parts += [f'<section id="usage-{item["id"]}" aria-labelledby="titre-{item["id"]}">',
                      f'<h2 id="titre-{item["id"]}">{item["id"]}. {e(item["name"])}</h2>',
                      f"<p><strong>{e(item['publication_note'])}.</strong></p>", "<dl>",
                      f"<dt>Direction</dt><dd>{e(item['direction'] or '—')}</dd>",
                      f"<dt>Statut</dt><dd>{e(item['status_label'])}</dd>", "</dl>", "</section>"]
            continue
        parts += [f'<section id="usage-{item["id"]}" aria-labelledby="titre-{item["id"]}">',
                  f'<h2 id="titre-{item["id"]}">{item["id"]}. {e(item["name"])}</h2>',
                  f"<p>{e(item['purpose'])}</p>", "<dl>"]
        for label, key in (("Direction", "direction"), ("Type d'IA", "ai_kind"), ("Prestataire ou modèle", "supplier"),
                           ("Exploitant", "operator"), ("Hébergement", "hosting"),
                           ("Données utilisées", "data_categories"), ("Base légale", "legal_basis"),
                           ("Intervention humaine", "human_oversight"), ("Statut", "status_label"),
                           ("Décision", "decision_date"), ("Rôles ayant décidé", "decided_by_roles"),
                           ("Prochaine réévaluation", "next_review"), ("Contact", "contact"),
                           ("Version du questionnaire", "questionnaire_version")):
            value = item[key]
            if isinstance(value, list):
                value = ", ".join(value)
            if key in ("decision_date", "next_review") and value:
                value = value[:10]
            parts.append(f"<dt>{e(label)}</dt><dd>{e(value or '—')}</dd>")
        parts += ["</dl>", "<table>", f"<caption>Les sept critères — usage n°{item['id']}</caption>",
                  '<thead><tr><th scope="col">Critère</th><th scope="col">Statut</th><th scope="col">Motifs</th>'
                  "</tr></thead>", "<tbody>"]
        for c in item["criteria"]:
            reasons = "<br>".join(e(r) for r in c["reasons"]) or "—"
            parts.append(f'<tr><th scope="row">{c["number"]}. {e(c["title"])}</th>'
                         f'<td class="level">{e(LEVEL_WORDS[c["status"]])}</td><td>{reasons}</td></tr>')
        parts += ["</tbody>", "</table>", "</section>"]
    parts += ["</main>", f"<footer><p>{e(_head_line(head))}</p></footer>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def export(items: list[dict[str, Any]], fmt: str, now: dt.datetime, *, head: AuditHead) -> str:
    """The register in one format; `head` is the audit trail's head read with the entries (see `snapshot`)."""
    generated = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    if fmt == "csv":
        return to_csv(items, head)
    if fmt == "json":
        return to_json(items, generated, head)
    if fmt == "md":
        return to_markdown(items, generated, head)
    if fmt == "html":
        return to_html(items, generated, head)
    raise ValueError(f"unknown format {fmt!r}: csv, json, md or html")
