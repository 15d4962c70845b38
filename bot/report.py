"""The assessment report ("fiche"): everything about one use, as Markdown or as one HTML page.

Context, every answer with the question as asked, findings per criterion, the recommendation,
every decision with its comment, the history, the questionnaire version and the next
re-evaluation, with the compass picture embedded in the HTML. Both write the text through
`bot.escaping`: no control characters, and no markup but the report's own.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from bot.compass import compass_png
from bot.config import Config
from bot.escaping import IN_CELL_BREAK, LINE_BREAK, markdown_text, visible_data
from bot.i18n import Translator, who
from bot.storage import Tx
from conversations.questionnaire import OTHER_CHOICE, Questionnaire
from conversations.rules import applicable_questions, summarize

LEVELS = {"ok": "✅ conforme", "to_check": "⚠️ à vérifier", "blocker": "⛔ bloquant"}


async def build(tx: Tx, questionnaire: Questionnaire, config: Config, assessment_id: int) -> dict[str, Any] | None:
    row = await tx.assessment(assessment_id)
    if row is None:
        return None
    interview = row.interview
    t = Translator("fr")
    summary = summarize(questionnaire, interview.answers)
    answers = []
    for question in applicable_questions(questionnaire, interview.answers):
        answer = interview.answers.get(question.id)
        choices = tuple(questionnaire.question(question.id).choices)
        if question.choices_from == "directions" and answer is not None:
            label = config.directions.get(str(answer.value))
            shown = label.label if label else (OTHER_CHOICE.label.fr if answer.value == OTHER_CHOICE.id
                                               else str(answer.value))
        else:
            shown = t.answer(question, answer, choices) if answer is not None else "—"
        answers.append({"criterion": question.criterion, "question": question.text.fr, "answer": shown})
    decisions = await tx.decisions(assessment_id)
    trail = await tx.audit_trail(assessment_id)
    return {
        "id": interview.id, "title": row.title or "", "status": t(f"status.{interview.status.value}"),
        "requester": who(interview.requester), "questionnaire_version": interview.questionnaire_version,
        # a withdrawn use is closed: no advice on it
        "recommendation": "—" if interview.status.value == "withdrawn"
        else t(f"recommendation.{summary.recommendation.value}"),
        "decided_at": row.decided_at, "next_review": row.next_review_at,
        "impact": t.impact(summary.impact, questionnaire.impact.mitigation_reduction),
        "levels": [str(c.level) for c in summary.criteria if c.number > 0],
        "criteria": [{"number": c.number, "title": c.title.fr, "level": str(c.level),
                      "reasons": [t.finding(f) for f in c.findings]} for c in summary.criteria],
        "answers": answers, "exceptions": dict(interview.exceptions),
        "decisions": [{"round": d.round, "role": config.roles[d.role].label if d.role in config.roles else d.role,
                       "decision": t(f"decision.{d.decision}"), "reviewer": who(d.reviewer or ""),
                       "comment": d.comment or "", "at": d.decided_at} for d in decisions],
        "history": [{"at": a.at, "actor": who(a.actor), "action": a.action} for a in trail],
    }


def to_markdown(report: dict[str, Any]) -> str:
    """Every value through `markdown_text`: one line in the heading, hard breaks in list items."""
    def item(text: str, depth: int = 1) -> str:
        return markdown_text(text, newline=LINE_BREAK + "  " * depth)

    r = visible_data(report)
    lines = [f"# Fiche de l'usage n°{r['id']} — {markdown_text(r['title'], newline=IN_CELL_BREAK)}", "",
             f"- Statut : {item(r['status'])}", f"- Demandeur : {item(r['requester'])}",
             f"- Recommandation de Boussole : {item(r['recommendation'])}",
             f"- Décision : {item((r['decided_at'] or '—')[:10])}",
             f"- Prochaine réévaluation : {item((r['next_review'] or '—')[:10])}",
             f"- Version du questionnaire : {item(r['questionnaire_version'])}",
             *[f"- {item(line)}" for line in r["impact"]], "", "## Les critères", ""]
    for c in r["criteria"]:
        if c["number"] == 0 and not c["reasons"]:
            continue
        lines.append(f"- **{c['number']}. {item(c['title'])}** : {LEVELS[c['level']]}")
        lines += [f"  - {item(reason, 2)}" for reason in c["reasons"]]
    lines += ["", "## Réponses", ""]
    lines += [f"- *{item(a['question'])}* — {item(a['answer'])}" for a in r["answers"]]
    if r["exceptions"]:
        lines += ["", "## Examen exceptionnel demandé", ""]
        lines += [f"- {item(q)} : {item(j)}" for q, j in r["exceptions"].items()]
    lines += ["", "## Décisions", ""]
    lines += [f"- {item(d['at'][:16])} — {item(d['role'])} ({item(d['reviewer'])}) : {item(d['decision'])}"
              + (f" — « {item(d['comment'])} »" if d["comment"] else "") for d in r["decisions"]] or ["- aucune"]
    lines += ["", "## Historique", ""]
    lines += [f"- {item(h['at'][:16])} — {item(h['actor'])} — {item(h['action'])}" for h in r["history"]]
    return "\n".join(lines) + "\n"


def to_html(report: dict[str, Any], png: bytes | None = None) -> str:
    report = visible_data(report)
    e = html.escape
    png = png if png is not None else compass_png(report)
    picture = base64.b64encode(png).decode()
    alt = "Boussole des sept critères : " + " ; ".join(
        f"critère {c['number']} {LEVELS[c['level']].split(' ', 1)[1]}" for c in report["criteria"] if c["number"])
    rows = "".join(f'<tr><th scope="row">{c["number"]}. {e(c["title"])}</th><td>{e(LEVELS[c["level"]])}</td>'
                   f'<td>{"<br>".join(e(r) for r in c["reasons"]) or "—"}</td></tr>'
                   for c in report["criteria"] if c["number"] or c["reasons"])
    answers = "".join(f"<dt>{e(a['question'])}</dt><dd>{e(a['answer'])}</dd>" for a in report["answers"])
    decisions = "".join(f"<li>{e(d['at'][:16])} — {e(d['role'])} ({e(d['reviewer'])}) : {e(d['decision'])}"
                        + (f" — « {e(d['comment'])} »" if d["comment"] else "") + "</li>"
                        for d in report["decisions"]) or "<li>aucune</li>"
    history = "".join(f"<li>{e(h['at'][:16])} — {e(h['actor'])} — {e(h['action'])}</li>" for h in report["history"])
    exceptions = "".join(f"<li>{e(q)} : {e(j)}</li>" for q, j in report["exceptions"].items())
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Fiche de l'usage n°{report['id']}</title>
<style>body{{font-family:system-ui,Arial,sans-serif;max-width:60rem;margin:auto;padding:1rem;line-height:1.5}}
table{{border-collapse:collapse}}th,td{{border:1px solid #666;padding:.3rem .5rem;text-align:left;vertical-align:top}}
dt{{font-weight:600;margin-top:.4rem}}dd{{margin-left:1rem}}</style></head>
<body><main><h1>Fiche de l'usage n°{report['id']} — {e(report['title'])}</h1>
<p>Statut : {e(report['status'])}. Demandeur : {e(report['requester'])}. Recommandation de Boussole :
{e(report['recommendation'])}. Prochaine réévaluation : {e((report['next_review'] or '—')[:10])}.
Version du questionnaire : {e(report['questionnaire_version'])}.</p>
{''.join(f'<p>{e(line)}</p>' for line in report['impact'])}
<img src="data:image/png;base64,{picture}" width="320" height="320" alt="{e(alt)}">
<h2>Les critères</h2><table><thead><tr><th scope="col">Critère</th><th scope="col">Statut</th>
<th scope="col">Motifs</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Réponses</h2><dl>{answers}</dl>
{f'<h2>Examen exceptionnel demandé</h2><ul>{exceptions}</ul>' if exceptions else ''}
<h2>Décisions</h2><ul>{decisions}</ul><h2>Historique</h2><ul>{history}</ul></main></body></html>
"""
