"""Time-travel tests of the reminder sweep: offsets, escalation, downtime, concurrency, restarts."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from bot.app import Boussole
from bot.reminders import sweep
from bot.storage import Database
from tests.helpers import Chat, submitted

ALICE, NR, MANAGER, ADMIN = "console:alice", "console:nr", "console:manager", "console:admin"
DPO, RSSI, JURISTE = "console:dpo", "console:rssi", "console:juriste"


async def approved_use(app) -> tuple[int, dt.datetime]:
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"valider {n}", user=NR)
    async with app.db.reading() as tx:
        row = await tx.assessment(n)
    return n, dt.datetime.fromisoformat(row.next_review_at)


def kinds(notices) -> list[tuple[str, str, int | None]]:
    return [(n.recipient, n.kind, n.assessment) for n in notices]


async def test_reminders_before_on_the_day_then_escalation_weekly(app):
    n, due = await approved_use(app)
    assert await sweep(app, due - dt.timedelta(days=31)) == []
    assert kinds(await sweep(app, due - dt.timedelta(days=30))) == [(ALICE, "reevaluation_soon", n)]
    assert await sweep(app, due - dt.timedelta(days=29)) == []          # sent once
    assert kinds(await sweep(app, due - dt.timedelta(days=7))) == [(ALICE, "reevaluation_soon", n)]
    assert kinds(await sweep(app, due)) == [(ALICE, "reevaluation_due", n)]
    assert await sweep(app, due + dt.timedelta(days=13)) == []
    assert kinds(await sweep(app, due + dt.timedelta(days=14))) == [(MANAGER, "escalation", n)]
    assert await sweep(app, due + dt.timedelta(days=20)) == []
    assert kinds(await sweep(app, due + dt.timedelta(days=21))) == [(MANAGER, "escalation", n)]


async def test_reminder_text_and_the_reevaluate_action(app):
    n, due = await approved_use(app)
    notices = await sweep(app, due - dt.timedelta(days=7))
    chat = Chat(app)
    await app.deliver("console", chat._collect)
    reminder = next(r for r in chat.inbox if r.kind == "reminder")
    assert "doit être réévalué le 02/03/2028 (dans 7 jours)" in reminder.text   # level I: 24 months
    assert reminder.actions[0]["command"] == f"réévaluer {n}"
    assert len(notices) == 1


async def test_downtime_sends_only_the_latest_missed_reminder_once(app):
    n, due = await approved_use(app)
    # The bot was down from a month before the date until the day after: one message, not three.
    notices = await sweep(app, due + dt.timedelta(days=1))
    assert kinds(notices) == [(ALICE, "reevaluation_due", n)]
    assert await sweep(app, due + dt.timedelta(days=1, minutes=1)) == []


async def test_restart_with_missed_sweeps(app, config, questionnaire, db_path, clock):
    n, due = await approved_use(app)
    await sweep(app, due - dt.timedelta(days=30))
    await app.db.close()
    async with Database(db_path) as db:  # a new process, weeks later
        restarted = Boussole(config=config, questionnaire=questionnaire, db=db, clock=clock)
        notices = await sweep(restarted, due - dt.timedelta(days=2))
        assert kinds(notices) == [(ALICE, "reevaluation_soon", n)]  # the 7-day one, once
        assert await sweep(restarted, due - dt.timedelta(days=1)) == []
    await app.db.open()


async def test_two_sweeps_at_once_never_double_send(app, config, questionnaire, db_path, clock):
    n, due = await approved_use(app)
    async with Database(db_path) as other_db:
        other = Boussole(config=config, questionnaire=questionnaire, db=other_db, clock=clock)
        first, second = await asyncio.gather(sweep(app, due), sweep(other, due))
    assert sorted(kinds(first + second)) == [(ALICE, "reevaluation_due", n)]


async def test_dry_run_changes_nothing(app):
    _n, due = await approved_use(app)
    dry = await sweep(app, due, dry_run=True)
    assert len(dry) == 1
    assert len(await sweep(app, due)) == 1


async def test_a_renewal_in_review_stops_the_reminders(app):
    n, due = await approved_use(app)
    chat = Chat(app)
    await chat.say(f"réévaluer {n}")
    for _ in range(60):
        if chat.last_question() is None:
            break
        await chat.say("ok")
    await chat.say("soumettre")
    assert [k for k in kinds(await sweep(app, due + dt.timedelta(days=30))) if k[2] == n] == []


async def test_idle_drafts_are_nudged_once_per_idle_spell(app, clock):
    chat = Chat(app)
    await chat.say("nouveau")
    assert await sweep(app, clock.now + dt.timedelta(days=6)) == []
    assert kinds(await sweep(app, clock.now + dt.timedelta(days=7))) == [(ALICE, "draft_idle", 1)]
    assert await sweep(app, clock.now + dt.timedelta(days=12)) == []


async def test_waiting_reviews_nudge_their_reviewers(app, clock):
    chat = Chat(app)
    n = await submitted(chat)
    assert await sweep(app, clock.now + dt.timedelta(days=4)) == []
    assert kinds(await sweep(app, clock.now + dt.timedelta(days=5))) == [(NR, "review_waiting", n)]
    assert await sweep(app, clock.now + dt.timedelta(days=6)) == []
    assert kinds(await sweep(app, clock.now + dt.timedelta(days=10))) == [(NR, "review_waiting", n)]


async def test_a_review_waiting_too_long_reaches_the_admins_once_per_period(app, clock):
    chat = Chat(app)
    n = await submitted(chat)
    start = clock.now
    assert kinds(await sweep(app, start + dt.timedelta(days=10))) == [(NR, "review_waiting", n)]
    assert await sweep(app, start + dt.timedelta(days=13, hours=23)) == []
    assert kinds(await sweep(app, start + dt.timedelta(days=14))) == [(ADMIN, "review_escalated", n)]
    assert await sweep(app, start + dt.timedelta(days=14)) == []          # the same sweep again
    assert await sweep(app, start + dt.timedelta(days=14, hours=1)) == []
    assert kinds(await sweep(app, start + dt.timedelta(days=15))) == [(NR, "review_waiting", n)]
    assert kinds(await sweep(app, start + dt.timedelta(days=20))) == [(NR, "review_waiting", n)]
    assert kinds(await sweep(app, start + dt.timedelta(days=21))) == [(ADMIN, "review_escalated", n)]  # a week on
    assert kinds(await sweep(app, start + dt.timedelta(days=27))) == [(NR, "review_waiting", n)]
    await app.deliver("console", chat._collect)
    escalated = [r for r in chat.inbox if r.to == ADMIN]
    assert len(escalated) == 2
    assert ("L'évaluation n°1 « Tri du courrier entrant » (demandeur : alice) attend une décision depuis 14 jours"
            in escalated[0].text)
    assert "Numérique responsable" in escalated[0].text


async def test_a_decided_review_is_not_escalated(app, clock):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"valider {n}", user=NR)
    assert [k for k in kinds(await sweep(app, clock.now + dt.timedelta(days=30))) if k[1] == "review_escalated"] == []


async def test_the_escalation_names_the_role_nobody_may_decide_for(app, clock):
    chat = Chat(app, user=NR)  # nr is alone in numerique-responsable and may not decide on their own request
    n = await submitted(chat, {"c2_ciso": "non"})
    for reviewer in (DPO, RSSI, JURISTE):
        await chat.say(f"valider {n}", user=reviewer)
    notices = await sweep(app, clock.now + dt.timedelta(days=14))
    assert kinds(notices) == [(ADMIN, "review_escalated", n)]
    await app.deliver("console", chat._collect)
    text = [r for r in chat.inbox if r.to == ADMIN][-1].text
    assert "attend une décision depuis 14 jours : Numérique responsable" in text
    assert "Personne ne peut décider pour : Numérique responsable" in text


async def test_new_questionnaire_version_brings_the_reevaluation_forward(app, config, questionnaire, db_path, clock):
    n, _due = await approved_use(app)
    newer = dataclasses.replace(questionnaire, version="2025.2", _index={})
    upgraded = Boussole(config=config, questionnaire=newer, db=app.db, clock=clock)
    notices = await sweep(upgraded, clock.now)
    assert kinds(notices) == [(ALICE, "new_questionnaire", n)]
    async with app.db.reading() as tx:
        row = await tx.assessment(n)
    assert dt.datetime.fromisoformat(row.next_review_at) == clock.now + dt.timedelta(days=90)
    assert await sweep(upgraded, clock.now + dt.timedelta(days=1)) == []


async def _reminder_text(app, at: dt.datetime) -> str:
    notices = await sweep(app, at)
    assert [n.kind for n in notices if n.recipient == ALICE] == ["reevaluation_due"]
    chat = Chat(app)
    await app.deliver("console", chat._collect)
    return next(r for r in chat.inbox if r.to == ALICE and r.kind == "reminder").text


async def test_a_reminder_sent_months_after_its_day_says_how_late_it_is(app):
    _n, due = await approved_use(app)  # due 02/03/2028 at 09:00 in Paris
    text = await _reminder_text(app, due + dt.timedelta(days=184))  # the bot was down all that time
    assert "C'est aujourd'hui" not in text
    assert text.startswith("⏰ La réévaluation de l'usage n°1 « Tri du courrier entrant », prévue le 02/03/2028, "
                           "est en retard de 184 jours. Tapez « réévaluer 1 »")


async def test_one_day_late_is_singular(app):
    _n, due = await approved_use(app)
    text = await _reminder_text(app, due + dt.timedelta(days=1))
    assert "prévue le 02/03/2028, est en retard de 1 jour." in text


async def test_on_the_day_it_is_today_in_the_configured_zone(app, config, questionnaire, clock):
    _n, due = await approved_use(app)
    # 16 hours after the due time (08:00 UTC): 01:00 the next day in Paris, still the same day in New York.
    later = due + dt.timedelta(hours=16)
    paris = await _reminder_text(app, later)
    assert "est en retard de 1 jour." in paris
    async with app.db.transaction() as tx:  # the same reminder, sent anew, read in New York
        await tx.execute("DELETE FROM notices_sent")
    new_york = Boussole(config=config.model_copy(update={"timezone": "America/New_York"}),
                        questionnaire=questionnaire, db=app.db, clock=clock)
    text = await _reminder_text(new_york, later)
    assert text.startswith("🔔 C'est aujourd'hui : l'usage n°1 « Tri du courrier entrant » doit être réévalué "
                           "(02/03/2028).")
