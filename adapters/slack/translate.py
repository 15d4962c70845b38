"""Slack payloads → the engine's neutral events, by payload type.

Each builder returns a `Translated`: the events to process in order, the clicked message to
update once they are processed, or the modal to open. Event ids are chosen so that Slack's
redeliveries (same `event_id`) and double clicks on one question (same message) collapse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conversations.model import Incoming

PREFIX = "slack:"


@dataclass(frozen=True)
class Click:
    """A message whose buttons are replaced, once the click is processed, by what was chosen."""

    channel: str
    ts: str
    note: str                    # the label of what was clicked
    blocks: list[dict[str, Any]]  # the message as Slack showed it


@dataclass(frozen=True)
class Modal:
    """A modal to open for a comment or a justification before anything is sent to the core."""

    trigger_id: str
    user: str
    action: str          # exception | approve | reservations | request_changes | reject
    command: str         # what the submission will send, before the typed text
    assessment: int | None


@dataclass(frozen=True)
class Translated:
    events: list[Incoming] = field(default_factory=list)
    click: Click | None = None
    modal: Modal | None = None


def decoded(text: str) -> str:
    """A message's text as the person typed it: Slack sends `&`, `<` and `>` as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    user_id = user["id"] if isinstance(user, dict) else (user or body.get("user_id"))
    return PREFIX + str(user_id)


def from_command(body: dict[str, Any]) -> Translated:
    text = decoded(body.get("text") or "").strip() or "aide"
    return Translated([Incoming(f"slack:command:{body['trigger_id']}", _user(body), text, explicit=True)])


def from_event(body: dict[str, Any]) -> Translated:
    event = body.get("event", {})
    if event.get("type") != "message" or event.get("channel_type") != "im":
        return Translated()
    if event.get("bot_id") or event.get("subtype") or not event.get("user"):
        return Translated()  # the bot's own messages, edits, joins: not the user talking
    text = decoded(event.get("text", ""))
    return Translated([Incoming(f"slack:event:{body['event_id']}", PREFIX + event["user"], text)])


def _selected(body: dict[str, Any], block_id: str) -> str:
    """The boxes ticked in every checkbox group of a question, as '1,3'."""
    picked: list[int] = []
    for bid, actions in body.get("state", {}).get("values", {}).items():
        if bid.startswith(block_id + "|pick"):
            for state in actions.values():
                picked += [int(o["value"]) for o in state.get("selected_options") or []]
    return ",".join(str(n) for n in sorted(picked))


def from_block_actions(body: dict[str, Any]) -> Translated:
    action = body["actions"][0]
    action_id: str = action["action_id"]
    user = _user(body)
    container = body.get("container", {})
    message = body.get("message", {})
    channel = container.get("channel_id") or body.get("channel", {}).get("id", "")
    message_ts = container.get("message_ts") or message.get("ts", "")
    label = (action.get("text") or {}).get("text", "")

    def click(note: str) -> Click | None:
        return Click(channel, message_ts, note, message.get("blocks", [])) if message_ts else None

    if action_id.startswith("answer:") or action_id == "multi_confirm":
        block_id = action["block_id"] if action_id != "multi_confirm" else action["value"]
        _, _assessment, question = block_id.split("|")[:3]
        text = action["value"] if action_id != "multi_confirm" else _selected(body, block_id)
        if not text:
            return Translated()
        # One answer per question message: a double click has the same event id.
        event = Incoming(f"slack:answer:{channel}:{message_ts}", user, text, question=question)
        return Translated([event], click=click(label if action_id != "multi_confirm" else text))
    if action_id.startswith("command:"):  # a button sends its command even while a free-text answer waits
        return Translated([Incoming(f"slack:action:{action['action_ts']}:{user}", user, action["value"],
                                    explicit=True)])
    if action_id.startswith("modal:"):
        data = json.loads(action["value"])
        return Translated(modal=Modal(body["trigger_id"], user, data["action"], data["command"], data["assessment"]))
    return Translated()  # ticking a checkbox: nothing until the confirm button


def from_view_submission(body: dict[str, Any]) -> Translated:
    view = body["view"]
    meta = json.loads(view.get("private_metadata") or "{}")
    typed = ""
    for actions in view.get("state", {}).get("values", {}).values():
        for state in actions.values():
            typed = (state.get("value") or "").strip() or typed
    user = _user(body)
    base = f"slack:view:{view['id']}"
    if meta.get("action") == "exception":
        # The engine takes "exception", then the justification as the next message.
        return Translated([Incoming(f"{base}:1", user, meta["command"], explicit=True),
                           Incoming(f"{base}:2", user, typed)])
    return Translated([Incoming(base, user, f"{meta['command']} {typed}".strip(), explicit=True)])


TRANSLATORS: dict[str, Callable[[dict[str, Any]], Translated]] = {
    "command": from_command,
    "event_callback": from_event,
    "block_actions": from_block_actions,
    "view_submission": from_view_submission,
}


def translate(kind: str, body: dict[str, Any]) -> Translated:
    return TRANSLATORS[kind](body)
