"""Slack payloads → the engine's neutral events, by payload type.

Each builder returns a `Translated`: the events to process in order, the clicked message to
update once they are processed, or the modal to open. Event ids are chosen so that Slack's
redeliveries (same `event_id`) and double clicks on one question (same message) collapse.

A payload is hostile until proven otherwise: every field is read by type (a string where a string
is expected, of bounded length; an object where an object is expected). A payload missing what its
type needs, or holding something else in its place, is logged with the field at fault and yields
nothing: `translate` never raises on what Slack (or anyone) sends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conversations.commands import COMMANDS
from conversations.model import Incoming

logger = logging.getLogger(__name__)

PREFIX = "slack:"
MAX_ID = 255             # ids, timestamps, trigger ids, action and block ids: Slack's are far shorter
MAX_TEXT = 200_000       # Slack's 40,000 characters of a message, each `&` possibly sent as `&amp;`
MAX_METADATA = 3_000     # Slack's limit for a modal's private_metadata (a button's value: 2,000)
MAX_CHOICE_DIGITS = 9    # a ticked box's value is its choice number


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
    home: str | None = None      # a user who opened the Home tab: their dashboard is published there
    thread: tuple[str, str] | None = None  # a reply in a thread: (channel, ts of the message it answers)


class Unreadable(ValueError):
    """A field the payload's type needs is missing, or holds something else: the payload yields nothing."""

    def __init__(self, at: str, problem: str) -> None:
        super().__init__(f"{at}: {problem}")
        self.at = at
        self.problem = problem


def _where(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _object(parent: dict[str, Any], key: str, at: str = "", *, required: bool = False) -> dict[str, Any]:
    """An object field; {} when absent and not required."""
    value = parent.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Unreadable(_where(at, key), "missing" if value is None else "not an object")
    return value


def _objects(value: Any, at: str) -> list[dict[str, Any]]:
    """A list of objects; [] when absent."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Unreadable(at, "not a list of objects")
    return value


def _text(parent: dict[str, Any], key: str, at: str = "", *, limit: int = MAX_TEXT, required: bool = False) -> str:
    """A string field of at most `limit` characters that UTF-8 can encode; "" when absent and not required."""
    value = parent.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Unreadable(_where(at, key), "missing" if value is None else "not a string")
    if len(value) > limit:
        raise Unreadable(_where(at, key), f"longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: JSON can carry them, no text holds them
        raise Unreadable(_where(at, key), "not text") from None
    return value


def _is_identifier(value: str) -> bool:
    return 0 < len(value) <= MAX_ID and value.isprintable() and " " not in value


def _identifier(parent: dict[str, Any], key: str, at: str = "", *, required: bool = True) -> str:
    """An id: printable, without spaces, at most MAX_ID characters; "" when absent and not required."""
    value = _text(parent, key, at, limit=MAX_ID, required=required)
    if (value or required) and not _is_identifier(value):
        raise Unreadable(_where(at, key), "not an identifier")
    return value


def decoded(text: str) -> str:
    """A message's text as the person typed it: Slack sends `&`, `<` and `>` as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _user(body: dict[str, Any]) -> str:
    """Who acted: `user.id` in interactive payloads, `user` in events, `user_id` in slash commands."""
    if isinstance(body.get("user"), dict):
        return PREFIX + _identifier(body["user"], "id", "user")
    return PREFIX + (_identifier(body, "user") if body.get("user") else _identifier(body, "user_id"))


def from_command(body: dict[str, Any]) -> Translated:
    text = decoded(_text(body, "text")).strip() or "aide"
    return Translated([Incoming(f"slack:command:{_identifier(body, 'trigger_id')}", _user(body), text, explicit=True)])


def from_event(body: dict[str, Any]) -> Translated:
    event = _object(body, "event", required=True)
    if event.get("type") == "app_home_opened":
        if event.get("tab") != "home":  # the Messages tab sends it too: only the Home tab shows the dashboard
            return Translated()
        return Translated(home=PREFIX + _identifier(event, "user", "event"))
    if event.get("type") != "message" or event.get("channel_type") != "im":
        return Translated()
    if event.get("bot_id") or event.get("subtype") or not event.get("user"):
        return Translated()  # the bot's own messages, edits, joins: not the user talking
    text = decoded(_text(event, "text", "event"))
    thread = None
    if event.get("thread_ts") is not None and event.get("thread_ts") != event.get("ts"):
        thread = (_identifier(event, "channel", "event"), _identifier(event, "thread_ts", "event"))
    return Translated([Incoming(f"slack:event:{_identifier(body, 'event_id')}",
                                PREFIX + _identifier(event, "user", "event"), text)], thread=thread)


def _selected(body: dict[str, Any], block_id: str) -> str:
    """The boxes ticked in every checkbox group of a question, as '1,3'."""
    picked: list[int] = []
    at = "state.values"  # its keys are the payload's: never in a log line
    for bid, actions in _object(_object(body, "state"), "values", "state").items():
        if bid.startswith(block_id + "|pick"):
            if not isinstance(actions, dict) or not all(isinstance(state, dict) for state in actions.values()):
                raise Unreadable(at, "not an object of objects")
            for state in actions.values():
                for option in _objects(state.get("selected_options"), f"{at}.selected_options"):
                    value = _text(option, "value", f"{at}.selected_options", limit=MAX_CHOICE_DIGITS, required=True)
                    if not (value.isascii() and value.isdigit()):
                        raise Unreadable(f"{at}.selected_options.value", "not a choice number")
                    picked.append(int(value))
    return ",".join(str(n) for n in sorted(picked))


def _modal(body: dict[str, Any], action: dict[str, Any], user: str) -> Modal:
    """The modal a button asks for, from the JSON the bot put in the button's value."""
    at = "actions[0].value"
    try:
        data = json.loads(_text(action, "value", "actions[0]", limit=MAX_METADATA, required=True))
    except (ValueError, RecursionError):
        raise Unreadable(at, "not JSON") from None
    if not isinstance(data, dict):
        raise Unreadable(at, "not a JSON object")
    name = _identifier(data, "action", at)
    spec = COMMANDS.get(name)
    if spec is None or not spec.modal:
        raise Unreadable(f"{at}.action", "not a command with a modal")
    assessment = data.get("assessment")
    if assessment is not None and (isinstance(assessment, bool) or not isinstance(assessment, int)):
        raise Unreadable(f"{at}.assessment", "not a whole number")
    return Modal(_identifier(body, "trigger_id"), user, name, _text(data, "command", at, limit=MAX_METADATA,
                                                                    required=True), assessment)


def from_block_actions(body: dict[str, Any]) -> Translated:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise Unreadable("actions", "not a list of actions")
    action = actions[0]
    action_id = _identifier(action, "action_id", "actions[0]")
    user = _user(body)
    container = _object(body, "container")
    message = _object(body, "message")
    channel = (_identifier(container, "channel_id", "container", required=False)
               or _identifier(_object(body, "channel"), "id", "channel", required=False))
    message_ts = (_identifier(container, "message_ts", "container", required=False)
                  or _identifier(message, "ts", "message", required=False))
    label = _text(_object(action, "text", "actions[0]"), "text", "actions[0].text", limit=MAX_ID)
    blocks = _objects(message.get("blocks"), "message.blocks")

    def click(note: str) -> Click | None:
        return Click(channel, message_ts, note, blocks) if message_ts else None

    if action_id.startswith("answer:") or action_id == "multi_confirm":
        multi = action_id == "multi_confirm"
        block_id = _text(action, "value" if multi else "block_id", "actions[0]", limit=MAX_ID, required=True)
        parts = block_id.split("|")
        if len(parts) < 3 or not _is_identifier(parts[2]):
            raise Unreadable("actions[0].value" if multi else "actions[0].block_id", "not a question's block")
        if not message_ts:
            raise Unreadable("container.message_ts", "missing: the answer's id is its message")
        question = parts[2]
        text = _selected(body, block_id) if multi else _text(action, "value", "actions[0]", limit=MAX_ID,
                                                             required=True)
        if not text:
            return Translated()
        # One answer per question message: a double click has the same event id.
        event = Incoming(f"slack:answer:{channel}:{message_ts}", user, text, question=question)
        return Translated([event], click=click(text if multi else label))
    if action_id.startswith("command:"):  # a button sends its command even while a free-text answer waits
        action_ts = _identifier(action, "action_ts", "actions[0]")
        command = _text(action, "value", "actions[0]", limit=MAX_METADATA, required=True)
        return Translated([Incoming(f"slack:action:{action_ts}:{user}", user, command, explicit=True)])
    if action_id.startswith("modal:"):
        return Translated(modal=_modal(body, action, user))
    return Translated()  # ticking a checkbox: nothing until the confirm button


def from_view_submission(body: dict[str, Any]) -> Translated:
    view = _object(body, "view", required=True)
    metadata = _text(view, "private_metadata", "view", limit=MAX_METADATA) or "{}"
    try:
        meta = json.loads(metadata)
    except (ValueError, RecursionError):
        raise Unreadable("view.private_metadata", "not JSON") from None
    if not isinstance(meta, dict):
        raise Unreadable("view.private_metadata", "not a JSON object")
    typed = ""
    for actions in _object(_object(view, "state", "view"), "values", "view.state").values():
        if not isinstance(actions, dict) or not all(isinstance(state, dict) for state in actions.values()):
            raise Unreadable("view.state.values", "not an object of objects")
        for state in actions.values():
            typed = _text(state, "value", "view.state.values").strip() or typed
    user = _user(body)
    base = f"slack:view:{_identifier(view, 'id', 'view')}"
    command = _text(meta, "command", "view.private_metadata", limit=MAX_METADATA, required=True)
    if meta.get("action") == "exception":
        # The engine takes "exception", then the justification as the next message.
        return Translated([Incoming(f"{base}:1", user, command, explicit=True),
                           Incoming(f"{base}:2", user, typed)])
    return Translated([Incoming(base, user, f"{command} {typed}".strip(), explicit=True)])


TRANSLATORS: dict[str, Callable[[dict[str, Any]], Translated]] = {
    "command": from_command,
    "event_callback": from_event,
    "block_actions": from_block_actions,
    "view_submission": from_view_submission,
}


def translate(kind: str, body: Any) -> Translated:
    """The events of one payload of a known kind; nothing (and a warning naming the field) for one that cannot
    be understood. Never raises on the payload: one odd request must not stop the others."""
    builder = TRANSLATORS[kind]
    try:
        if not isinstance(body, dict):
            raise Unreadable("(payload)", "not an object")
        return builder(body)
    except Unreadable as unreadable:
        logger.warning("Slack %s payload not understood: %s %s; ignored", kind, unreadable.at, unreadable.problem)
        return Translated()
