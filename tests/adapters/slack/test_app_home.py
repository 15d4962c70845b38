"""The Slack Home tab: the dashboard published on `app_home_opened`, with its buttons, refreshed when something
changes for its reader; signed events as Slack sends them, against the fake Web API."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from adapters.slack.blocks import MAX_BUTTON, MAX_HEADER, MAX_HOME_BLOCKS, MAX_SECTION
from tests.adapters.slack.test_slack import ALICE, dm, interview

_n = itertools.count(1)


async def open_home(world, user: str, tab: str = "home") -> None:
    n = next(_n)
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": f"EvHome{n:06d}",
                       "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": user, "channel": dm(user), "tab": tab,
                                 "event_ts": f"1710000000.{n:06d}"}})
    response = await world.slack.post(body, "application/json")
    assert response.status == 200


def views(world, user: str) -> list[dict[str, Any]]:
    return [call["view"] for call in world.api.method_calls("views.publish") if call["user_id"] == user]


async def next_view(world, user: str, seen: int, condition=lambda text: True) -> dict[str, Any]:
    """The first view published for `user` after the first `seen` ones whose text meets `condition`."""
    return await world.api.wait_for(lambda: next((v for v in views(world, user)[seen:] if condition(text_of(v))),
                                                 None))


def text_of(view: dict[str, Any]) -> str:
    texts = []
    for block in view["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(texts)


def buttons(view: dict[str, Any], block_id: str) -> list[dict[str, Any]]:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return block["elements"]


def check_view(view: dict[str, Any]) -> None:
    assert view["type"] == "home" and len(view["blocks"]) <= MAX_HOME_BLOCKS
    ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(ids) == len(set(ids)), "block ids are unique in a view"
    for block in view["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= MAX_BUTTON


async def click_in_home(world, user: str, view: dict[str, Any], block_id: str, label: str) -> None:
    """A click on a Home tab's button: the payload's container is the view, not a message."""
    element = next(e for e in buttons(view, block_id) if label in e["text"]["text"])
    n = next(_n)
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T1"}, "trigger_id": f"trigHome{n}",
               "container": {"type": "view", "view_id": "VHOME"}, "view": {"id": "VHOME", **view},
               "actions": [{"action_id": element["action_id"], "block_id": block_id, "value": element["value"],
                            "type": "button", "text": element["text"], "action_ts": f"1710000002.{n:06d}"}]}
    response = await world.slack.interactive(payload)
    assert response.status == 200


async def test_the_home_tab_shows_the_dashboard_and_follows_a_review_to_its_decision(world):
    await open_home(world, ALICE)
    empty = (await world.api.wait_for(lambda: views(world, ALICE)))[0]
    check_view(empty)
    assert empty["blocks"][0]["type"] == "header"
    assert empty["blocks"][0]["text"] == {"type": "plain_text", "text": "🧭 Tableau de bord Boussole", "emoji": True}
    assert "*Mes évaluations (0)*" in text_of(empty) and "Aucune évaluation en cours" in text_of(empty)
    assert [e["value"] for e in buttons(empty, "home|actions")] == ["nouveau", "liste"]

    summary = await interview(world)  # each message delivered to Alice may refresh her Home tab
    draft = await next_view(world, ALICE, 1, lambda text: "à relire puis à soumettre" in text)
    check_view(draft)
    assert "n°1 « Tri du courrier entrant » — en brouillon" in text_of(draft)
    assert [e["value"] for e in buttons(draft, "home|assessments|0|actions")] == ["reprendre 1", "rapport 1"]
    seen = len(views(world, ALICE))
    assert seen < 10, "a view that did not change is not published again"

    await world.slack.click(ALICE, summary, label="Soumettre")
    await next_view(world, ALICE, seen, lambda text: "attend la décision de : Numérique responsable" in text)
    assert not views(world, "UNR"), "no Home tab is published for someone who never opened it"

    await open_home(world, "UNR")
    home = await next_view(world, "UNR", 0, lambda text: "Mes validations en attente (1)" in text)
    check_view(home)
    assert "n°1 « Tri du courrier entrant » — " in text_of(home)
    assert " : demandée par <@UALICE>, en attente depuis 0 jour" in text_of(home)
    decisions = buttons(home, "home|reviews|0|actions")
    assert [e["action_id"] for e in decisions] == ["modal:approve", "modal:reservations", "modal:request_changes",
                                                   "modal:reject", "command:report"]
    seen_alice, seen_nr = len(views(world, ALICE)), len(views(world, "UNR"))

    await click_in_home(world, "UNR", home, "home|reviews|0|actions", "Valider")  # the same modal as in messages
    modal = (await world.api.wait_for(lambda: world.api.method_calls("views.open")))[-1]["view"]
    assert modal["callback_id"] == "boussole:approve" and json.loads(modal["private_metadata"])["assessment"] == 1
    await world.slack.submit_view("UNR", modal, "Conforme")
    await next_view(world, "UNR", seen_nr, lambda text: "Aucune validation ne vous attend." in text)
    decided = await next_view(world, ALICE, seen_alice, lambda text: "validée · prochaine réévaluation" in text)
    assert [e["value"] for e in buttons(decided, "home|assessments|0|actions")] == ["rapport 1"]


async def test_a_home_button_sends_its_command(world):
    await open_home(world, ALICE)
    home = (await world.api.wait_for(lambda: views(world, ALICE)))[0]
    await click_in_home(world, ALICE, home, "home|actions", "Nouvelle évaluation")
    first = await world.api.wait_for(lambda: world.api.posted(dm(ALICE)))
    assert "Nouvelle évaluation n°1" in json.dumps(first[0]["blocks"], ensure_ascii=False)


async def test_the_messages_tab_publishes_nothing_and_user_text_is_escaped(world):
    await open_home(world, ALICE, tab="messages")
    await world.slack.command(ALICE, "nouveau")
    asked = len(await world.api.wait_for(lambda: [p for p in world.api.posted(dm(ALICE)) if "question 1" in p["text"]]))
    await world.slack.message(ALICE, "<!channel> *Outil* <https://evil.example|clic>")
    await world.api.wait_for(lambda: [p for p in world.api.posted(dm(ALICE)) if "question 2" in p["text"]])
    assert asked == 1
    assert not views(world, ALICE)
    await open_home(world, ALICE)
    home = await next_view(world, ALICE, 0)
    text = text_of(home)
    assert "&lt;!channel&gt; *Outil* &lt;https://evil.example|clic&gt;" in text
    assert "<!channel>" not in text and "<https://" not in text


def test_an_app_home_opened_payload_is_read_by_type():
    from adapters.slack.translate import translate
    event = {"type": "app_home_opened", "user": "UALICE", "tab": "home"}
    assert translate("event_callback", {"event": event}).home == "slack:UALICE"
    assert translate("event_callback", {"event": {**event, "tab": "messages"}}).home is None
    for user in (5, None, "U ALICE", "U" * 300, {"id": "UALICE"}):
        assert translate("event_callback", {"event": {**event, "user": user}}).home is None, user


def test_a_home_view_never_exceeds_slack_limits_whatever_it_is_given():
    from adapters.slack.blocks import home_view
    from bot.i18n import Rendered
    item = {"text": "x" * 5000, "assessment": 7, "actions": [
        {"name": n, "label": "L" * 200, "command": f"{n} 7"} for n in ("approve", "reject", "report")]}
    rendered = Rendered(to="slack:U1", kind="info", key="dashboard", heading="H" * 500, sections=[
        {"name": f"s{n}", "title": "T" * 4000, "items": [item] * 40, "more": "", "empty": "", "note": "n" * 4000}
        for n in range(3)])
    view = home_view(rendered)
    check_view(view)
    assert len(view["blocks"]) == MAX_HOME_BLOCKS and view["blocks"][-1]["type"] == "context"
    assert view["blocks"][-1]["elements"][0]["text"].startswith("… (+")
