"""Payload translation against recorded JSON, Block Kit limits, and the per-channel pace."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.posting import split_text
from adapters.slack.adapter import Pacer
from adapters.slack.blocks import MAX_BLOCKS, MAX_BUTTON, MAX_SECTION, build
from adapters.slack.translate import translate
from bot.i18n import Rendered, mention

PAYLOADS = Path(__file__).with_name("payloads")
LABELS = {"yes": "Oui", "no": "Non", "unknown": "Je ne sais pas", "confirm": "Confirmer la sélection"}


def load(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def test_slash_command():
    (event,) = translate("command", load("slash_command.json")).events
    assert (event.user, event.text) == ("slack:UALICE", "statut 12")
    assert event.id == "slack:command:13345224609.738474920.8088930838d88f008e0"


def test_direct_message_and_the_bots_own_messages():
    (event,) = translate("event_callback", load("message_im.json")).events
    assert (event.id, event.user, event.text) == ("slack:event:Ev08MFMKH6", "slack:UALICE",
                                                  "Un outil qui résume les courriers")
    assert translate("event_callback", load("message_from_bot.json")).events == []


def test_answer_button_names_its_question_and_message():
    translated = translate("block_actions", load("block_actions_answer.json"))
    (event,) = translated.events
    assert event.question == "c1_biometric" and event.text == "non"
    assert event.id == "slack:answer:DUALICE:1700000000.000042"  # a second click on this message collapses
    assert translated.click is not None and translated.click.note == "Non"


def test_exception_modal_sends_the_command_then_the_justification():
    first, second = translate("view_submission", load("view_submission_exception.json")).events
    assert (first.text, second.text) == ("exception", "Obligation réglementaire de sûreté du site.")
    assert first.id != second.id


def test_a_long_summary_is_split_never_cut():
    body = "\n".join(f"⚠️ Point {i} : " + "détail " * 60 for i in range(400))  # ~60 sections
    rendered = Rendered(to="slack:U1", kind="summary", heading="Synthèse", body=body,
                        actions=[{"name": "submit", "label": "Soumettre " * 20, "command": "soumettre"}])
    messages = build(rendered, LABELS)
    assert len(messages) > 1
    texts = []
    for message in messages:
        assert len(message.blocks) <= MAX_BLOCKS
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION
                texts.append(block["text"]["text"])
            for element in block.get("elements", []):
                if element.get("type") == "button":
                    assert len(element["text"]["text"]) <= MAX_BUTTON
    assert "\n".join(texts) == body  # every character, in order
    assert any(b["type"] == "actions" for b in messages[-1].blocks)


def test_a_line_longer_than_a_section_is_kept_whole_across_sections():
    chunks = split_text("x" * 7000, MAX_SECTION)
    assert [len(c) for c in chunks] == [3000, 3000, 1000]


def test_people_named_by_boussole_are_mentions_and_typed_ones_are_not():
    rendered = Rendered(to="slack:U1", kind="info", body=f"{mention('slack:UNR')} a validé : 3 < 5 & ok <@UX>")
    (message,) = build(rendered, LABELS)
    expected = "<@UNR> a validé : 3 &lt; 5 &amp; ok &lt;@UX&gt;"
    assert message.blocks[0]["text"]["text"] == expected and message.text == expected


async def test_pace_is_per_channel_after_a_burst():
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(1.0, burst=3, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        await pacer.wait("D1")
    assert slept == [1.0, 1.0, 1.0]       # three at once, then one a second
    await pacer.wait("D2")                 # another channel does not wait
    assert slept == [1.0, 1.0, 1.0]


def test_the_manifest_asks_for_the_smallest_set_of_scopes():
    import yaml
    manifest = yaml.safe_load((Path(__file__).parents[3] / "adapters/slack/manifest.yaml").read_text("utf-8"))
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == ["chat:write", "commands", "im:history", "im:write"]
    assert manifest["features"]["slash_commands"][0]["command"] == "/boussole"
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["message.im", "app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"]
    assert manifest["settings"]["interactivity"]["is_enabled"] and manifest["settings"]["socket_mode_enabled"]


def test_what_is_sent_as_a_command_is_marked_explicit_and_typed_text_is_not():
    (slash,) = translate("command", load("slash_command.json")).events
    assert slash.explicit
    (typed,) = translate("event_callback", load("message_im.json")).events
    assert not typed.explicit
    justification = translate("view_submission", load("view_submission_exception.json")).events
    assert [e.explicit for e in justification] == [True, False]  # the command, then the free text it asks for
    view = load("view_submission_exception.json")
    view["view"]["private_metadata"] = json.dumps({"action": "reject", "command": "refuser 7", "assessment": 7})
    (decision,) = translate("view_submission", view).events
    assert decision.explicit and decision.text == "refuser 7 Obligation réglementaire de sûreté du site."


def test_buttons_and_modals_follow_the_command_table():
    from conversations.commands import COMMANDS

    actions = [{"name": name, "label": name, "command": spec.word("fr")} for name, spec in COMMANDS.items()]
    rendered = Rendered(to="slack:U1", kind="info", assessment=3, body="x",
                        actions=[*actions, {"name": "yes", "label": "Oui", "command": "oui"}])
    (message,) = build(rendered, LABELS)
    elements = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    by_name = {e["action_id"].split(":", 1)[1]: e for e in elements}
    for name, spec in COMMANDS.items():
        if not spec.button:
            assert name not in by_name, name
        elif spec.modal:
            assert by_name[name]["action_id"] == f"modal:{name}", name
            assert json.loads(by_name[name]["value"])["command"] == spec.word("fr")
        else:
            assert by_name[name]["action_id"] == f"command:{name}" and by_name[name]["value"] == spec.word("fr")
    assert by_name["yes"]["value"] == "oui"
