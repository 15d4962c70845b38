"""Fuzzing the translation of Slack payloads: recorded payloads with keys deleted at any depth and values
replaced by odd ones. Translation never raises; what it yields is well typed, prefixed, and stable."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.adapter import SlackAdapter
from adapters.slack.translate import MAX_ID, MAX_METADATA, MAX_TEXT, Translated, translate
from bot.app import Boussole
from bot.storage import Database, DatabaseUnavailable
from tests.adapters.slack.conftest import slack_config
from tests.adapters.slack.fake_slack import FakeSlackAPI
from tests.adapters.slack.test_socket_mode import envelope as socket_envelope
from tests.mutations import ODD, mutated

PAYLOADS = Path(__file__).with_name("payloads")
KINDS = {"slash_command.json": "command", "message_im.json": "event_callback",
         "message_from_bot.json": "event_callback", "block_actions_answer.json": "block_actions",
         "view_submission_exception.json": "view_submission"}


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


RECORDED = {name: load(name) for name in KINDS}

# Shapes a recorded payload lacks but Slack sends: the other buttons, checkboxes, a modal's button.
CHECKED = copy.deepcopy(RECORDED["block_actions_answer.json"])
CHECKED["actions"] = [{"action_id": "multi_confirm", "block_id": "q|7|c1_sensitive|0",
                       "value": "q|7|c1_sensitive", "type": "button", "action_ts": "1710000001.000002"}]
CHECKED["state"] = {"values": {"q|7|c1_sensitive|pick0": {"pick": {"type": "checkboxes", "selected_options": [
    {"value": "3"}, {"value": "1"}]}}}}
COMMAND_BUTTON = copy.deepcopy(RECORDED["block_actions_answer.json"])
COMMAND_BUTTON["actions"] = [{"action_id": "command:soumettre", "block_id": "actions", "value": "soumettre 7",
                              "type": "button", "action_ts": "1710000001.000003"}]
MODAL_BUTTON = copy.deepcopy(RECORDED["block_actions_answer.json"])
MODAL_BUTTON["actions"] = [{"action_id": "modal:approve", "block_id": "actions", "type": "button",
                            "value": json.dumps({"action": "approve", "command": "approuver 7", "assessment": 7}),
                            "action_ts": "1710000001.000004"}]
SEEDS: list[tuple[str, Any]] = [(KINDS[name], body) for name, body in RECORDED.items()] + [
    ("block_actions", CHECKED), ("block_actions", COMMAND_BUTTON), ("block_actions", MODAL_BUTTON)]


@st.composite
def mutated_payload(draw: st.DrawFn) -> tuple[str, Any]:
    """A recorded payload with one to four of its keys deleted or its values replaced, at any depth."""
    kind, body = draw(st.sampled_from(SEEDS))
    return kind, draw(mutated(body))


def check(kind: str, body: Any) -> None:
    before = copy.deepcopy(body)
    translated = translate(kind, body)
    assert body == before, "translation leaves the payload as it was"
    for event in translated.events:
        assert isinstance(event.id, str) and event.id.startswith("slack:") and len(event.id) <= 3 * MAX_ID
        assert isinstance(event.user, str) and event.user.startswith("slack:") and len(event.user) > len("slack:")
        assert isinstance(event.text, str) and len(event.text) <= MAX_TEXT + MAX_METADATA + 1
        assert event.question is None or isinstance(event.question, str)
        for text in (event.id, event.user, event.text):
            text.encode("utf-8")  # what the application stores is text
    if translated.click is not None:
        click = translated.click
        assert isinstance(click.channel, str) and isinstance(click.ts, str) and click.ts
        assert isinstance(click.note, str)
        assert isinstance(click.blocks, list) and all(isinstance(b, dict) for b in click.blocks)
    if translated.modal is not None:
        modal = translated.modal
        assert all(isinstance(v, str) for v in (modal.trigger_id, modal.user, modal.action, modal.command))
        assert modal.user.startswith("slack:")
        assert modal.assessment is None or (isinstance(modal.assessment, int) and not isinstance(modal.assessment,
                                                                                                 bool))
    again = translate(kind, copy.deepcopy(before))  # a redelivery: the same ids, so it collapses
    assert [e.id for e in again.events] == [e.id for e in translated.events]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_payload())
def test_any_mutation_of_a_recorded_payload_is_translated_without_failing(case):
    check(*case)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(set(KINDS.values()))), ODD)
def test_any_json_value_as_a_whole_payload_is_translated_without_failing(kind, body):
    check(kind, body)


def test_the_recorded_payloads_still_pass_the_checks():
    for kind, body in SEEDS:
        check(kind, body)
    (ticked,) = translate("block_actions", CHECKED).events
    assert (ticked.text, ticked.question) == ("1,3", "c1_sensitive")


def seed(name: str, **changes: Any) -> dict[str, Any]:
    """A recorded payload with some fields replaced (a value of DELETE removes the field)."""
    body: dict[str, Any] = copy.deepcopy(RECORDED[name] if name in RECORDED else dict(SEEDS)[name])
    for key, value in changes.items():
        target, _, inner = key.partition("__")
        if inner:
            body[target] = {k: v for k, v in body[target].items() if k != inner} if value is DELETE else {
                **body[target], inner: value}
        elif value is DELETE:
            del body[target]
        else:
            body[target] = value
    return body


DELETE = object()
# What once raised before the request was acknowledged (KeyError, TypeError, AttributeError, IndexError,
# ValueError, JSONDecodeError), or made an event of a user "slack:None": each now yields nothing, and says why.
FOUND = [
    ("command", seed("slash_command.json", trigger_id=DELETE), "trigger_id"),
    ("command", seed("slash_command.json", text={"a": 1}), "text"),
    ("command", seed("slash_command.json", user_id=DELETE), "user_id"),
    ("command", seed("slash_command.json", user_id=" "), "user_id"),
    ("event_callback", seed("message_im.json", event_id=DELETE), "event_id"),
    ("event_callback", seed("message_im.json", event=None), "event"),
    ("event_callback", seed("message_im.json", event="message"), "event"),
    ("event_callback", seed("message_im.json", event__user=[1]), "event.user"),
    ("event_callback", seed("message_im.json", event__text=12), "event.text"),
    ("event_callback", seed("message_im.json", event__text="\ud800"), "event.text"),
    ("event_callback", seed("message_im.json", event__text="x" * (MAX_TEXT + 1)), "event.text"),
    ("block_actions", seed("block_actions_answer.json", actions=[]), "actions"),
    ("block_actions", seed("block_actions_answer.json", actions=DELETE), "actions"),
    ("block_actions", seed("block_actions_answer.json", actions=["answer:no"]), "actions"),
    ("block_actions", seed("block_actions_answer.json", user={"name": "alice"}), "user.id"),
    ("block_actions", seed("block_actions_answer.json", container="DUALICE"), "container"),
    ("block_actions", seed("block_actions_answer.json", message=[]), "message"),
    ("block_actions", seed("block_actions_answer.json", message__blocks="question"), "message.blocks"),
    ("block_actions", {**CHECKED, "state": 3}, "state"),
    ("block_actions", seed("block_actions_answer.json", container=DELETE, message__ts=DELETE),
     "container.message_ts"),
    ("block_actions", {**seed("block_actions_answer.json"), "actions": [{"action_id": "answer:no", "block_id": "q",
                                                                         "value": "non"}]}, "actions[0].block_id"),
    ("block_actions", {**seed("block_actions_answer.json"), "actions": [{"action_id": {"x": 1}}]},
     "actions[0].action_id"),
    ("block_actions", {**CHECKED, "state": {"values": {"q|7|c1_sensitive|pick0": {"pick": {
        "selected_options": [{"value": "²"}]}}}}}, "selected_options.value"),
    ("block_actions", {**CHECKED, "state": {"values": {"q|7|c1_sensitive|pick0": {"pick": {
        "selected_options": [{"value": "9" * 5000}]}}}}}, "selected_options"),
    ("block_actions", {**COMMAND_BUTTON, "actions": [{"action_id": "command:x", "value": "aide"}]},
     "actions[0].action_ts"),
    ("block_actions", {**MODAL_BUTTON, "trigger_id": None}, "trigger_id"),
    ("block_actions", {**MODAL_BUTTON, "actions": [{"action_id": "modal:approve", "value": "{"}]},
     "actions[0].value"),
    ("block_actions", {**MODAL_BUTTON, "actions": [{"action_id": "modal:approve", "value": 7}]},
     "actions[0].value"),
    ("block_actions", {**MODAL_BUTTON, "actions": [{"action_id": "modal:approve", "value": "[" * 2500}]},
     "actions[0].value"),
    ("block_actions", {**MODAL_BUTTON, "actions": [{"action_id": "modal:approve", "value": json.dumps(
        {"action": "drop_tables", "command": "x"})}]}, "actions[0].value.action"),
    ("block_actions", {**MODAL_BUTTON, "actions": [{"action_id": "modal:approve", "value": json.dumps(
        {"action": "approve", "command": "approuver 7", "assessment": "7"})}]}, "actions[0].value.assessment"),
    ("view_submission", seed("view_submission_exception.json", view=DELETE), "view"),
    ("view_submission", seed("view_submission_exception.json", view=7), "view"),
    ("view_submission", seed("view_submission_exception.json", view__id=DELETE), "view.id"),
    ("view_submission", seed("view_submission_exception.json", view__private_metadata="not json"),
     "view.private_metadata"),
    ("view_submission", seed("view_submission_exception.json", view__private_metadata={"action": "exception"}),
     "view.private_metadata"),
    ("view_submission", seed("view_submission_exception.json", view__private_metadata='"exception"'),
     "view.private_metadata"),
    ("view_submission", seed("view_submission_exception.json", view__private_metadata="{}"),
     "view.private_metadata.command"),
    ("view_submission", seed("view_submission_exception.json", view__state="text"), "view.state"),
    ("view_submission", seed("view_submission_exception.json", view__state={"values": {"text": "x"}}),
     "view.state.values"),
    ("view_submission", seed("view_submission_exception.json", user={"id": None}), "user.id"),
    ("view_submission", ["not", "an", "object"], "(payload)"),
]


@pytest.mark.parametrize(("kind", "body", "at"), FOUND, ids=[f"{k}:{a}" for k, _, a in FOUND])
def test_what_fuzzing_found_yields_nothing_and_says_which_field(kind, body, at, caplog):
    with caplog.at_level(logging.WARNING, logger="adapters.slack.translate"):
        assert translate(kind, body) == Translated()
    (record,) = caplog.records
    assert kind in record.getMessage() and at in record.getMessage()


def test_odd_but_harmless_fields_change_nothing():
    """Fields a message can do without (text, a button's label, the channel) are read as absent, as before."""
    (event,) = translate("event_callback", seed("message_im.json", event__text=None)).events
    assert event.text == ""
    (event,) = translate("command", seed("slash_command.json", text=None)).events
    assert event.text == "aide"
    translated = translate("block_actions", seed("block_actions_answer.json", channel=DELETE, actions=[
        {k: v for k, v in RECORDED["block_actions_answer.json"]["actions"][0].items() if k != "text"}]))
    assert translated.events[0].id == "slack:answer:DUALICE:1700000000.000042"
    assert translated.click is not None and translated.click.note == ""


# -- at the HTTP level: signed requests with odd bodies to the running adapter -----------------------------------

def form(payload: Any) -> tuple[str, str]:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


def as_json(payload: Any) -> tuple[str, str]:
    return json.dumps(payload), "application/json"


def command_form(fields: Any) -> tuple[str, str]:
    """A slash command's form: its values are strings, whatever they hold (lone surrogates sent as the bytes no
    UTF-8 decoder accepts); a field may be missing."""
    if not isinstance(fields, dict):
        fields = {"command": "/boussole", "text": json.dumps(fields)}
    return urllib.parse.urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()},
                                  errors="surrogatepass"), "application/x-www-form-urlencoded"


URL_VERIFICATION = {"type": "url_verification", "token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3g"}
REQUESTS = st.one_of(
    st.sampled_from([body for kind, body in SEEDS if kind == "event_callback"] + [URL_VERIFICATION]).flatmap(
        lambda body: mutated(body)).map(as_json),
    st.sampled_from([body for kind, body in SEEDS if kind in ("block_actions", "view_submission")]).flatmap(
        lambda body: mutated(body)).map(form),
    mutated(RECORDED["slash_command.json"]).map(command_form),
    ODD.map(as_json),
    ODD.map(form),
    st.sampled_from([("{", "application/json"), ("", "application/json"), ("payload=%7B", "application/x-www-form"
                     "-urlencoded"), ("payload=", "application/x-www-form-urlencoded"), ("\x00", "text/plain"),
                     ("[" * 5000, "application/json"), ("a=1", "application/json"), ("{}", "multipart/form-data")]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(request=REQUESTS)
async def test_any_signed_request_gets_an_answer_and_the_bot_goes_on(world, request):
    body, content_type = request
    response = await asyncio.wait_for(world.slack.post(body, content_type), timeout=10)
    assert response.status == 200 or 400 <= response.status < 500, (response.status, body[:300])
    assert not world.adapter.inbox.done(), "the inbox loop still runs"  # type: ignore[union-attr]


async def test_after_odd_requests_a_normal_message_is_answered(world):
    for body, content_type in [as_json({"type": "event_callback", "event_id": "Ev1", "event": "message"}),
                               as_json({"type": "event_callback", "event": {"type": "message", "channel_type": "im",
                                                                            "user": ["UALICE"], "text": {}}}),
                               form({"type": "block_actions", "user": {"id": "UALICE"}, "actions": []}),
                               form({"type": "view_submission", "user": {"id": "UALICE"},
                                     "view": {"id": "V1", "callback_id": "boussole:approve",
                                              "private_metadata": "not json"}}),
                               command_form({"command": "/boussole", "text": "aide"}),
                               ("{", "application/json")]:
        response = await world.slack.post(body, content_type)
        assert response.status == 200 or 400 <= response.status < 500, (response.status, body)
    assert (await world.slack.message("UALICE", "aide")).status == 200
    await world.api.wait_for(lambda: world.api.posted("DUALICE"))


async def test_socket_mode_goes_on_past_odd_envelopes(questionnaire, db_path):
    api = FakeSlackAPI()
    config = slack_config(await api.start(), mode="socket", messages_per_second=200.0)
    odd: list[Any] = [
        None, [], "event_callback", {"type": "event_callback", "event_id": "EvOdd1", "event": "message"},
        {"type": "event_callback", "event_id": "EvOdd2",
         "event": {"type": "message", "channel_type": "im", "user": {"id": 1}, "text": 3}},
        {"type": "block_actions", "user": {"id": "UALICE"}, "actions": []},
        {"type": "view_submission", "user": {"id": "UALICE"},
         "view": {"id": "V1", "callback_id": "boussole:approve", "private_metadata": "{"}}]
    async with Database(db_path) as db:
        app = Boussole(config=config, questionnaire=questionnaire, db=db)
        adapter = SlackAdapter(app, config.slack, {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test"},
                               retry_delay=0.01)
        await adapter.start()
        try:
            for n, payload in enumerate(odd):
                kind = "interactive" if isinstance(payload, dict) and payload.get("type") != "event_callback" \
                    else "events_api"
                await api.push({"envelope_id": f"odd-{n}", "type": kind, "accepts_response_payload": False,
                                "payload": payload})
            await api.push(socket_envelope("env-ok", "EvFine", "aide"))
            await api.wait_for(lambda: "env-ok" in {a.get("envelope_id") for a in api.acks})
            await api.wait_for(lambda: any("Commandes" in m["text"] for m in api.posted("DUALICE")))
        finally:
            await adapter.stop()
            await api.stop()


async def test_an_event_that_could_not_be_recorded_is_still_not_acknowledged(world, monkeypatch):
    """Refusing what cannot be read (400) leaves alone what could not be recorded (500): Slack sends it again."""
    async def unavailable(events: list[Any]) -> None:
        raise DatabaseUnavailable("locked by another process")

    monkeypatch.setattr(world.app, "receive", unavailable)
    assert (await world.slack.message("UALICE", "aide", event_id="EvLater")).status == 500
