"""Findings of a hostile probe of the review workflow's commands (absences, reassignment, questions to the
requester, the dashboard) and modes, each kept as a test that failed before its fix."""

from __future__ import annotations

import sqlite3

from bot.app import Boussole
from bot.config import Config
from conversations.model import Status
from tests.bot.test_review_workflow import (
    ADMIN,
    ALICE,
    BOB,
    DPO,
    DPO2,
    DPO3,
    NR,
    PERSONAL,
    RSSI,
    app_with,
    audit_details,
    status_of,
    with_roles,
)
from tests.helpers import Chat, submitted, to


def no_event_failed(db_path) -> bool:
    with sqlite3.connect(db_path) as raw:
        return raw.execute("SELECT COUNT(*) FROM audit WHERE action = 'event_failed'").fetchone()[0] == 0


async def test_a_delegate_away_too_hands_the_request_on_to_their_own_delegate(app: Boussole, db_path):
    chat = Chat(app)
    await chat.say("absent du 2026-03-02 au 2026-03-09 remplaçant console:rssi", user=DPO)
    await chat.say("absent du 2026-03-02 au 2026-03-09 remplaçant console:bob", user=RSSI)
    n = await submitted(chat, PERSONAL)
    assert {r.to for r in chat.inbox if r.kind == "review_request"} == {BOB, NR}  # not rssi, who is away
    replies = await chat.say(f"valider {n}", user=BOB)
    assert replies[0].key == "review.recorded"
    assert audit_details(db_path, "decision")[-1] == (BOB, {"decision": "approve", "roles": ["dpo"], "comment": "",
                                                           "for": [DPO]})
    assert no_event_failed(db_path)


async def test_two_members_delegating_to_each_other_leave_the_request_with_one_of_them(app: Boussole, db_path):
    chat = Chat(app)
    await chat.say("absent du 2026-03-02 au 2026-03-09 remplaçant console:rssi", user=DPO)
    await chat.say("absent du 2026-03-02 au 2026-03-09 remplaçant console:dpo", user=RSSI)
    n = await submitted(chat, PERSONAL)
    assert {r.to for r in chat.inbox if r.kind == "review_request"} == {RSSI, NR}
    assert (await chat.say(f"valider {n}", user=RSSI))[0].key == "review.recorded"


def without_role(config: Config, name: str) -> Config:
    return config.model_copy(update={"roles": {k: v for k, v in config.roles.items() if k != name}})


async def test_a_request_for_a_role_removed_from_the_configuration_can_still_be_handed_on(app: Boussole, config,
                                                                                          db_path):
    n = await submitted(Chat(app), PERSONAL)
    bot = app_with(app, without_role(config, "numerique-responsable"))
    chat = Chat(bot)
    told = to(await chat.say(f"valider {n}", user=DPO), ALICE)
    assert "Toujours en attente de la décision de : numerique-responsable." in told[0].text
    handed = await chat.say(f"réassigner {n} numerique-responsable bob", user=ADMIN)
    assert handed[0].key == "review.reassign.done"
    assert [r.kind for r in to(handed, BOB)] == ["info", "review_request"]
    done = await chat.say(f"valider {n}", user=BOB)
    assert done[0].key == "review.recorded"
    assert await status_of(bot, n) is Status.APPROVED
    assert no_event_failed(db_path)


async def test_a_reply_with_no_question_open_does_not_claim_to_close_any(app: Boussole, db_path):
    chat = Chat(app)
    n = await submitted(chat, PERSONAL)
    replies = await chat.say(f"réponse {n} Une précision : la conservation est d'un an.")
    received = to(replies, DPO)
    assert [r.key for r in received] == ["review.reply.unasked"]
    assert "question" not in received[0].text
    assert "ajoute une précision" in received[0].text
    assert no_event_failed(db_path)


async def test_handing_a_request_twice_to_the_same_person_sends_nothing_again(app: Boussole, db_path):
    chat = Chat(app)
    n = await submitted(chat, PERSONAL)
    await chat.say(f"réassigner {n} dpo bob", user=ADMIN)
    again = await chat.say(f"réassigner {n} dpo bob", user=ADMIN)
    assert [(r.to, r.key) for r in again] == [(ADMIN, "review.reassign.already")]
    assert len(audit_details(db_path, "review_reassigned")) == 1


async def test_a_quorum_every_seat_of_which_is_filled_is_settled_even_by_fewer_persons(app: Boussole, config,
                                                                                       db_path):
    bot = app_with(app, with_roles(config, dpo={"members": [DPO, DPO2, DPO3], "decide": "quorum", "quorum": 3}))
    chat = Chat(bot)
    await chat.say("absent du 2026-03-02 au 2026-03-13 remplaçant dpo2", user=DPO)
    n = await submitted(chat, PERSONAL)
    await chat.say(f"valider {n}", user=NR)
    await chat.say(f"valider {n}", user=DPO2)   # fills dpo2's place and the absent dpo's: one person, counted once
    last = await chat.say(f"valider {n}", user=DPO3)  # every place is filled: nobody is left to ask
    assert await status_of(bot, n) is Status.APPROVED, [r.text for r in last]


async def test_a_request_waiting_for_a_delegate_who_goes_away_is_handed_to_their_delegate(app: Boussole, clock):
    from bot.reminders import sweep
    chat = Chat(app)
    await chat.say("absent du 2026-03-02 au 2026-03-20 remplaçant console:rssi", user=DPO)
    clock.advance(hours=1)
    n = await submitted(chat, PERSONAL)   # made during the dpo's absence: straight to rssi
    assert {r.to for r in chat.inbox if r.kind == "review_request"} == {RSSI, NR}
    await chat.say("absent du 2026-03-04 au 2026-03-13 remplaçant bob", user=RSSI)
    clock.advance(days=2)
    handed = await sweep(app, clock.now)
    assert [(x.recipient, x.kind, x.assessment) for x in handed if x.kind == "review_handed_over"] == [
        (BOB, "review_handed_over", n), (BOB, "review_handed_over", n)]
    assert [x for x in await sweep(app, clock.now) if x.kind == "review_handed_over"] == []   # once


async def test_a_report_or_history_of_no_number_does_not_echo_a_long_argument(app: Boussole):
    chat = Chat(app)
    for command in ("rapport", "historique"):
        refused = await chat.say(f"{command} {'a' * 3000}", user=ADMIN)
        assert [r.key for r in refused] == ["error.not_found"]
        assert len(refused[0].text) < 200
