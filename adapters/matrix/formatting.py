"""Rendered replies → Matrix message contents (plain `body` and HTML `formatted_body`), split when long."""

from __future__ import annotations

import html
from typing import Any

from adapters.posting import split_text
from bot.i18n import Rendered, show_people
from conversations.commands import COMMANDS

# Matrix events are limited to 64 KiB; keep each part well below, HTML included.
MAX_PART = 12_000
KEYCAPS = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟"]
YES, NO, UNKNOWN = "✅", "❌", "❓"


def emoji_key(text: str) -> str:
    """Clients send emoji with or without the variation selector: compare without it."""
    return text.replace("\ufe0f", "")


# What a reaction means on a question (keycaps are choice numbers).
REACTION_ANSWERS = {emoji_key(k): v for k, v in
                    {YES: "oui", NO: "non", UNKNOWN: "?", **{k: str(i) for i, k in enumerate(KEYCAPS, 1)}}.items()}
# What a reaction means on a review request: the command the table gives it.
DECISION_REACTIONS = {emoji_key(spec.reaction): spec.fr[0] for spec in COMMANDS.values() if spec.reaction}
STRONG_KINDS = {"blocker", "review_request", "summary", "digest"}
FIELD = "fr.nantesmetropole.boussole"


def _html_lines(text: str) -> str:
    return "<br/>".join(html.escape(line) for line in text.split("\n"))


def contents(rendered: Rendered) -> list[dict[str, Any]]:
    """One m.notice content per part: the bot's own messages are notices, so other bots stay quiet."""
    heading, body, hint = (show_people(part or "") for part in (rendered.heading, rendered.body, rendered.hint))
    question = rendered.question
    reactions = ""
    if question is not None and question["type"] == "yesno":
        reactions = f"{YES} oui · {NO} non · {UNKNOWN} ?"
    elif question is not None and question["type"] == "choice" and len(question["choices"]) <= len(KEYCAPS):
        reactions = " ".join(KEYCAPS[: len(question["choices"])])
    elif rendered.kind == "review_request":  # the decisions a reaction sends, with their buttons' labels
        reactions = " · ".join(f"{COMMANDS[a['name']].reaction} {a['label']}" for a in rendered.actions
                               if a["name"] in COMMANDS and COMMANDS[a["name"]].reaction)
    parts = split_text(body, MAX_PART) if body else [""]
    out = []
    for n, part in enumerate(parts):
        first, last = n == 0, n == len(parts) - 1
        plain = [heading] if first and heading else []
        formatted = []
        if first and heading:
            tag = "h4" if rendered.kind in STRONG_KINDS else "p"
            inner = f"<strong>{html.escape(heading)}</strong>" if tag == "p" else html.escape(heading)
            formatted.append(f"<{tag}>{inner}</{tag}>")
        if part:
            plain.append(part)
            formatted.append(f"<p>{_html_lines(part)}</p>")
        if last and hint:
            plain.append(hint)
            formatted.append(f"<p><em>{_html_lines(hint)}</em></p>")
        if last and reactions:
            plain.append(f"({reactions})")
            formatted.append(f"<p>{html.escape(reactions)}</p>")
        content: dict[str, Any] = {"msgtype": "m.notice", "body": "\n".join(plain),
                                   "format": "org.matrix.custom.html", "formatted_body": "".join(formatted)}
        # Machine-readable: which assessment and question this is (clients and scripts may use it).
        content[FIELD] = {"kind": rendered.kind, "assessment": rendered.assessment,
                          "question": question["id"] if question else None, "part": n}
        out.append(content)
    return out
