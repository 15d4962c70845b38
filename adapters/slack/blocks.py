"""Rendered replies → Slack Block Kit messages, within Block Kit's limits by construction.

At most 50 blocks per message, section text at most 3,000 characters, header 150, button
text 75: a long text is split at line boundaries across sections and, past 50 blocks,
across messages; nothing is cut silently (a button whose label is shortened repeats a
numbered choice written in full in the text above it). The Home tab's view of the dashboard
has at most 100 blocks: each line with its own buttons.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from adapters.posting import split_text
from bot.i18n import Rendered, show_people, who
from conversations.commands import COMMANDS

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_ACTIONS = 25
MAX_CHECKBOXES = 10
MAX_FALLBACK = 300

HEADER_KINDS = {"blocker", "review_request", "summary", "digest"}


@dataclass(frozen=True)
class SlackMessage:
    text: str                    # notification and accessibility fallback
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Text for mrkdwn: Slack's three control characters escaped, so that no text makes a mention, a link or
    a broadcast; the people Boussole itself names become mentions."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return show_people(escaped, _mention)


def plain(text: str) -> str:
    """Text for a plain_text field (headers): people by name, nothing interpreted."""
    return show_people(text)


def _mention(identity: str) -> str:
    transport, _, user_id = identity.partition(":")
    return f"<@{user_id}>" if transport == "slack" and re.fullmatch(r"[A-Z0-9]+", user_id) else escape(who(identity))


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": shorten(text, MAX_SECTION)}]}


def button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": shorten(label, MAX_BUTTON),
                                                          "emoji": True}, "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def _question_blocks(rendered: Rendered, labels: dict[str, str]) -> list[dict[str, Any]]:
    question = rendered.question
    assert question is not None
    block_id = f"q|{rendered.assessment}|{question['id']}"
    qtype = question["type"]
    elements: list[dict[str, Any]] = []
    if qtype == "yesno":
        elements = [button(labels["yes"], "answer:yes", "oui", "primary"), button(labels["no"], "answer:no", "non"),
                    button(labels["unknown"], "answer:unknown", "?")]
    elif qtype == "choice":
        elements = [button(f"{i}. {c['label']}", f"answer:{i}", str(i)) for i, c in enumerate(question["choices"], 1)]
    blocks: list[dict[str, Any]] = []
    if qtype == "multi":
        options = [{"text": {"type": "plain_text", "text": shorten(f"{i}. {c['label']}", MAX_BUTTON)},
                    "value": str(i)} for i, c in enumerate(question["choices"], 1)]
        for start in range(0, len(options), MAX_CHECKBOXES):
            blocks.append({"type": "actions", "block_id": f"{block_id}|pick{start}",
                           "elements": [{"type": "checkboxes", "action_id": f"pick{start}",
                                         "options": options[start:start + MAX_CHECKBOXES]}]})
        elements = [button(labels["confirm"], "multi_confirm", block_id, "primary")]
    if "?" not in [e.get("value") for e in elements] and qtype in ("choice", "multi") and question.get("unknown"):
        elements.append(button(labels["unknown"], "answer:unknown", "?"))
    for start in range(0, len(elements), MAX_ACTIONS):
        blocks.append({"type": "actions", "block_id": f"{block_id}|{start}", "elements": elements[start:start + 25]})
    return blocks


def _action_buttons(rendered: Rendered) -> list[dict[str, Any]]:
    return _buttons(rendered.actions, rendered.assessment)


def _buttons(actions: list[dict[str, str]], assessment: int | None) -> list[dict[str, Any]]:
    """Each command offered as a button: a decision or a justification opens its modal first."""
    elements = []
    for action in actions:
        name = action["name"]
        spec = COMMANDS.get(name)  # None: an answer offered as a button (yes, no)
        if spec is not None and not spec.button:
            continue
        if spec is not None and spec.modal:
            payload = json.dumps({"action": name, "command": action["command"], "assessment": assessment})
            style = "danger" if name == "reject" else ("primary" if name == "approve" else None)
            elements.append(button(action["label"], f"modal:{name}", payload, style))
        else:
            style = "primary" if name in ("submit", "reevaluate", "fix") else None
            elements.append(button(action["label"], f"command:{name}", action["command"], style))
    return elements


def build(rendered: Rendered, labels: dict[str, str]) -> list[SlackMessage]:
    """The Slack messages for one rendered reply (usually one; more when it is long)."""
    blocks: list[dict[str, Any]] = []
    if rendered.heading:
        if rendered.kind in HEADER_KINDS:
            for chunk in split_text(rendered.heading, MAX_HEADER):
                blocks.append({"type": "header", "text": {"type": "plain_text", "text": plain(chunk), "emoji": True}})
        else:
            blocks.append(context(escape(rendered.heading)))
    for n, chunk in enumerate(split_text(escape(rendered.body or ""), MAX_SECTION)):
        if chunk.strip():
            blocks.append(section(chunk))
            if rendered.question is not None:  # which question this message asks, for clients and tests
                blocks[-1]["block_id"] = f"q|{rendered.assessment}|{rendered.question['id']}|body{n}"
    tail: list[dict[str, Any]] = []
    if rendered.question is not None:
        tail.extend(_question_blocks(rendered, labels))
    if rendered.hint:
        tail.append(context(escape(rendered.hint)))
    action_elements = _action_buttons(rendered)
    for start in range(0, len(action_elements), MAX_ACTIONS):
        tail.append({"type": "actions", "block_id": f"actions|{rendered.assessment}|{start}",
                     "elements": action_elements[start:start + MAX_ACTIONS]})

    whole = " ".join(part for part in (rendered.heading, rendered.body, rendered.hint) if part)
    fallback = shorten(escape(whole.replace("\n", " ")), MAX_FALLBACK)
    room = MAX_BLOCKS - len(tail)
    messages: list[SlackMessage] = []
    while len(blocks) > room:
        messages.append(SlackMessage(fallback, blocks[:MAX_BLOCKS]))
        blocks = blocks[MAX_BLOCKS:]
    messages.append(SlackMessage(fallback, blocks + tail))
    return messages


def answered(message_blocks: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """The same message with its buttons replaced by a note of what was done."""
    kept = [b for b in message_blocks if b.get("type") != "actions"]
    return [*kept, context(escape(note))][:MAX_BLOCKS]


def home_view(rendered: Rendered) -> dict[str, Any]:
    """The Home tab's view of a rendered dashboard: its title and buttons, then each section's lines, each
    with its own buttons (resume and report an assessment; decide on a request through the same modals as in
    messages). The dashboard's lists are short by construction; past 100 blocks the last says what is left out."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(plain(rendered.heading or ""), MAX_HEADER),
                                    "emoji": True}}]
    top = _action_buttons(rendered)
    if top:
        blocks.append({"type": "actions", "block_id": "home|actions", "elements": top[:MAX_ACTIONS]})
    for part in rendered.sections:
        name = part["name"]
        blocks.append({"type": "section", "block_id": f"home|{name}",
                       "text": {"type": "mrkdwn", "text": shorten(f"*{escape(part['title'])}*", MAX_SECTION)}})
        for index, item in enumerate(part["items"]):
            blocks.append({"type": "section", "block_id": f"home|{name}|{index}",
                           "text": {"type": "mrkdwn", "text": shorten(escape(item["text"]), MAX_SECTION)}})
            buttons = _buttons(item["actions"], item["assessment"])
            if buttons:
                blocks.append({"type": "actions", "block_id": f"home|{name}|{index}|actions",
                               "elements": buttons[:MAX_ACTIONS]})
        notes = [part["more"], part["note"]] if part["items"] else [part["empty"], part["note"]]
        blocks += [context(escape(note)) for note in notes if note]
    if len(blocks) > MAX_HOME_BLOCKS:
        left_out = sum(1 for b in blocks[MAX_HOME_BLOCKS - 1:] if b["type"] == "section")
        blocks = [*blocks[:MAX_HOME_BLOCKS - 1], context(f"… (+{left_out})")]
    return {"type": "home", "blocks": blocks}
