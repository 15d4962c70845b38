"""Digests: content per manager, nothing when empty, once per slot, DST-proof schedule, catch-up."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from bot.digest import run_digests
from bot.scheduler import DIGEST_GRACE, Scheduler, digest_trigger, last_slot
from tests.helpers import Chat, submitted

PARIS = ZoneInfo("Europe/Paris")


async def test_manager_digest_lists_the_week_of_their_directions(app, clock):
    chat = Chat(app)
    n = await submitted(chat, {"c2_ciso": "non"})
    other = Chat(app, user="console:carol")
    await other.say("nouveau")
    await other.answer_all({"c1_biometric": "oui"}, stop_at="c1_sensitive")
    clock.advance(days=2)
    notices = await run_digests(app, clock.now, slot="test-1")
    recipients = {(x.recipient, x.kind) for x in notices}
    assert ("console:manager", "digest") in recipients
    assert ("console:manager2", "digest") not in recipients  # nothing in Mobilités: nothing sent
    assert ("console:dpo", "reviewer_digest") in recipients
    reader = Chat(app, user="console:manager")
    await app.deliver("console", reader._collect)
    digest = next(r for r in reader.inbox if r.to == "console:manager" and r.kind == "digest")
    assert "Synthèse Boussole — Direction du numérique, Relation usagers" in digest.text
    assert "Nouvelles demandes (2)" in digest.text
    assert f"n°{n} « Tri du courrier entrant » — alice, en cours de validation" in digest.text
    assert "Points bloquants levés (1)" in digest.text and "critère 1" in digest.text
    assert "Validations en attente (4)" in digest.text and "depuis 2 jours" in digest.text


async def test_a_slot_is_sent_once(app, clock):
    chat = Chat(app)
    await submitted(chat)
    assert len(await run_digests(app, clock.now, slot="2026-03-09T08:00")) > 0
    assert await run_digests(app, clock.now, slot="2026-03-09T08:00") == []


async def test_empty_digests_are_skipped_unless_configured(app, config, questionnaire, clock):
    assert await run_digests(app, clock.now, slot="empty") == []
    from bot.app import Boussole
    chatty = config.model_copy(update={"digest": config.digest.model_copy(update={"skip_empty": False})})
    always = Boussole(config=chatty, questionnaire=questionnaire, db=app.db, clock=clock)
    assert {n.recipient for n in await run_digests(always, clock.now, slot="empty2")} >= {
        "console:manager", "console:manager2"}


def test_monday_nine_oclock_across_daylight_saving_changes():
    trigger = digest_trigger("0 9 * * mon", "Europe/Paris")
    for start in (dt.datetime(2027, 3, 15, tzinfo=dt.UTC), dt.datetime(2026, 10, 12, tzinfo=dt.UTC)):
        fires, fire = [], trigger.get_next_fire_time(None, start)
        while len(fires) < 4:
            fires.append(fire)
            fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
        local = [f.astimezone(PARIS) for f in fires]
        assert all(f.hour == 9 and f.minute == 0 and f.weekday() == 0 for f in local)
        assert [(b - a).days for a, b in itertools.pairwise(local)] == [7, 7, 7]
        utc_hours = {f.astimezone(dt.UTC).hour for f in fires}
        assert utc_hours == {7, 8}  # the UTC hour moves, the local hour does not: no skip, no repeat


def test_last_slot_before_now():
    trigger = digest_trigger("0 9 * * mon", "Europe/Paris")
    now = dt.datetime(2027, 3, 31, 12, 0, tzinfo=dt.UTC)  # a Wednesday after the change
    assert last_slot(trigger, now) == dt.datetime(2027, 3, 29, 9, 0, tzinfo=PARIS)


async def test_scheduler_start_catches_up_a_recent_missed_slot_once(app, clock):
    chat = Chat(app)
    await submitted(chat)
    clock.now = dt.datetime(2026, 3, 9, 10, 30, tzinfo=PARIS)  # Monday, 90 minutes after the slot
    scheduler = Scheduler(app)
    await scheduler.run_digest()
    assert any(True for _ in await _sent_digests(app))
    before = len(await _sent_digests(app))
    await scheduler.run_digest()  # a second start, or the cron firing late: nothing new
    assert len(await _sent_digests(app)) == before
    clock.now += DIGEST_GRACE * 2  # too late for that slot: wait for the next one
    await Scheduler(app).run_digest()
    assert len(await _sent_digests(app)) == before


async def _sent_digests(app):
    async with app.db.reading() as tx:
        return await tx.fetchall("SELECT key FROM notices_sent WHERE kind IN ('digest', 'reviewer_digest')")


def test_long_sections_are_capped_with_a_count():
    from bot.digest import SECTION_LINES, _capped
    from bot.i18n import render
    from conversations.model import Reply, ReplyKind
    content = _capped({"directions": ["Numérique"], "since": "2026-03-01T00:00:00+00:00", "new": [],
                       "pending": [], "blockers": [], "decisions": [], "soon": [],
                       "overdue": [{"id": i, "title": f"U{i}", "date": "2026-01-01T00:00:00+00:00", "days": 9}
                                   for i in range(SECTION_LINES + 7)]})
    text = render(Reply("console:m", ReplyKind.DIGEST, "digest.manager", content), "fr").text
    assert f"Réévaluations en retard ({SECTION_LINES + 7})" in text
    assert "… et 7 autres" in text and text.count("jours de retard") == SECTION_LINES


def _digest_text(content: dict, zone: ZoneInfo) -> str:
    from bot.i18n import render
    from conversations.model import Reply, ReplyKind
    return render(Reply("console:m", ReplyKind.DIGEST, "digest.manager", content), "fr", zone).text


def test_digest_dates_are_in_the_readers_zone_and_statuses_in_words():
    content = {"directions": ["Numérique"], "since": "2026-03-01T23:30:00+00:00",
               "new": [{"id": 1, "title": "U1", "requester": "console:alice", "status": "in_review"}],
               "decisions": [{"id": 2, "title": "U2", "status": "approved_with_reservations"},
                             {"id": 3, "title": "", "status": "changes_requested"}],
               "soon": [{"id": 4, "title": "U4", "date": "2026-03-31T22:30:00+00:00"}]}
    paris = _digest_text(content, PARIS)
    assert "Synthèse Boussole — Numérique, depuis le 02/03/2026" in paris
    assert "n°4 « U4 » — le 01/04/2026" in paris
    assert "n°1 « U1 » — alice, en cours de validation" in paris
    assert "n°2 « U2 » — validée avec réserves" in paris and "n°3 — renvoyée pour modifications" in paris
    assert "approved" not in paris and "changes_requested" not in paris and "  —" not in paris
    cayenne = _digest_text(content, ZoneInfo("America/Cayenne"))
    assert "depuis le 01/03/2026" in cayenne and "n°4 « U4 » — le 31/03/2026" in cayenne


async def test_a_digest_is_written_in_the_configured_zone(app, config, questionnaire, clock):
    from bot.app import Boussole
    chat = Chat(app)
    await submitted(chat)
    clock.now = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)  # Tuesday 00:30 in Paris, Monday 20:30 in Cayenne
    elsewhere = Boussole(config=config.model_copy(update={"timezone": "America/Cayenne"}),
                         questionnaire=questionnaire, db=app.db, clock=clock)
    await run_digests(elsewhere, clock.now, slot="zone", only="console:manager")
    reader = Chat(app, user="console:manager")
    await app.deliver("console", reader._collect)
    digest = next(r for r in reader.inbox if r.kind == "digest")
    assert "depuis le 02/03/2026" in digest.text  # seven days back: 2026-03-02 23:30 UTC, 20:30 in Cayenne


async def test_the_manager_digest_shows_each_submitted_uses_impact_level(app, clock):
    chat = Chat(app)
    n = await submitted(chat)
    other = Chat(app, user="console:carol")
    await other.say("nouveau")  # a draft: its answers may still change, no level yet
    await other.answer_all({}, stop_at="c1_biometric")
    clock.advance(days=1)
    await run_digests(app, clock.now, slot="impact", only="console:manager")
    reader = Chat(app, user="console:manager")
    await app.deliver("console", reader._collect)
    digest = next(r for r in reader.inbox if r.kind == "digest").text
    assert f"n°{n} « Tri du courrier entrant » — alice, en cours de validation — niveau d'impact I\n" in digest
    draft = next(line for line in digest.splitlines() if line.startswith(f"  n°{n + 1}"))
    assert draft == f"  n°{n + 1} « Tri du courrier entrant » — carol, en brouillon"
