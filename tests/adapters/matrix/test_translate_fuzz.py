"""Fuzzing what a homeserver can send: event dicts with odd content, parsed by nio's own parser, fed to the
adapter's event handling. No Synapse: the bot's nio client is given the rooms as nio stores them, the
application runs on a temporary SQLite database. Handling never fails; what reaches the application is
well typed and prefixed; the bot still answers a normal message afterwards."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nio import ReactionEvent, RoomMessageText
from nio.events.room_events import Event
from nio.rooms import MatrixRoom

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.formatting import DECISION_REACTIONS, REACTION_ANSWERS
from bot.app import Boussole
from bot.config import Config, DirectionConfig, MatrixConfig, RoleConfig
from bot.i18n import Rendered
from bot.storage import Database, OutboxRow
from conversations.model import Incoming
from tests.mutations import JSON, ODD, ODD_TEXT, mutated

BOT, ALICE, BOB, STRANGER = "@bot:fuzz.test", "@alice:fuzz.test", "@bob:fuzz.test", "@eve:elsewhere.test"
DIRECT, SHARED = "!direct:fuzz.test", "!shared:fuzz.test"
QUESTION = "$posted2"  # after "nouveau": what starts, then the first question
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


@dataclass
class Bot:
    """A Matrix adapter that never connects: its rooms are set by hand, what it hands the application is kept."""

    app: Boussole
    adapter: MatrixAdapter
    posted: dict[str, str] = field(default_factory=dict)  # what the bot posted: event id → message key
    seen: list[Incoming] = field(default_factory=list)

    async def deliver(self) -> None:
        """Deliver the outbox as if posted, each message remembered as `$posted1`, `$posted2`…: reactions find
        them. The first is also remembered as a review request (`$request`), for decision reactions."""
        async def post(row: OutboxRow, rendered: Rendered) -> None:
            event_id = f"$posted{len(self.posted) + 1}"
            await self.adapter.posted.remember(row, 0, DIRECT, event_id, rendered, {"kind": rendered.kind})
            self.posted[event_id] = rendered.key
            request = replace(rendered, kind="review_request", key="review.request", question=None)
            await self.adapter.posted.remember(row, 1, DIRECT, "$request", request, {"kind": request.kind})
        await self.app.deliver("matrix", post)

    def outbox(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.app.db.path) as raw:
            return raw.execute("SELECT recipient, json_extract(payload, '$.key') FROM outbox ORDER BY id").fetchall()


def room(room_id: str, members: list[str]) -> MatrixRoom:
    nio_room = MatrixRoom(room_id, BOT)
    for member in members:
        nio_room.add_member(member, None, None)
    return nio_room


@pytest.fixture
async def bot(questionnaire: Any, tmp_path: Path) -> AsyncIterator[Bot]:
    config = Config(
        roles={"nr": RoleConfig(label="Numérique responsable", members=[f"matrix:{BOB}"], criteria=[3, 4, 5, 7],
                                always=True)},
        directions={"numerique": DirectionConfig(label="Direction du numérique", managers=[f"matrix:{BOB}"])},
        matrix=MatrixConfig(enabled=True, homeserver="http://127.0.0.1:9", user_id=BOT, store_path=tmp_path / "store",
                            encryption=False),
    )
    db = await Database(tmp_path / "boussole.sqlite3").open()
    app = Boussole(config=config, questionnaire=questionnaire, db=db)
    adapter = MatrixAdapter(app, config.matrix, {"MATRIX_PASSWORD": "unused"})
    adapter.client.rooms[DIRECT] = room(DIRECT, [BOT, ALICE])
    adapter.client.rooms[SHARED] = room(SHARED, [BOT, ALICE, BOB, STRANGER])
    async with db.transaction() as tx:
        for room_id in (DIRECT, SHARED):
            await tx.remember_matrix_room(room_id, 0)  # joined before any event: every event is for the bot
    fuzzed = Bot(app, adapter)
    for method in ("handle", "refuse"):  # what the adapter hands the application, kept before it is handled
        original = getattr(app, method)

        async def spy(event: Incoming, *args: Any, _original: Any = original) -> bool:
            fuzzed.seen.append(event)
            return bool(await _original(event, *args))
        setattr(app, method, spy)
    await app.handle(Incoming("matrix:$start", f"matrix:{ALICE}", "nouveau", explicit=True))
    await fuzzed.deliver()  # Alice's first question is posted: reactions can answer it
    assert fuzzed.posted[QUESTION] == "question"
    try:
        yield fuzzed
    finally:
        await adapter.client.close()
        await db.close()


def message(body: Any, **content: Any) -> dict[str, Any]:
    return {"type": "m.room.message", "event_id": "$m", "sender": ALICE, "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": body, **content}}


def reaction(relates_to: Any) -> dict[str, Any]:
    return {"type": "m.reaction", "event_id": "$r", "sender": ALICE, "origin_server_ts": 1,
            "content": {"m.relates_to": relates_to}}


EMOJI = sorted({*REACTION_ANSWERS, *DECISION_REACTIONS, "✅️", "1️⃣", "👍"})
BODIES = st.one_of(ODD_TEXT, st.sampled_from(["!boussole", "!BOUSSOLE aide", "/boussole", "/", "/rapport 1",
                                              "!boussole statut ²", "!boussole " + "9" * 4000, "nouveau"]),
                   st.builds(lambda prefix, text: prefix + text, st.sampled_from(["!boussole ", "/", ""]), ODD_TEXT))
MESSAGES = st.one_of(
    st.builds(message, BODIES),
    st.builds(message, BODIES, msgtype=st.sampled_from(["m.notice", "m.emote", "m.image", "m.file", "org.odd", ""])),
    st.builds(message, BODIES, format=st.sampled_from(["org.matrix.custom.html", "odd"]), formatted_body=ODD_TEXT),
    st.builds(message, ODD),  # a body that is not a string
    st.builds(lambda d: {**d, "content": {k: v for k, v in d["content"].items() if k != "body"}},  # no body at all
              st.builds(message, st.just(""), format=st.just("org.matrix.custom.html"), formatted_body=ODD_TEXT)),
    st.builds(message, BODIES, **{"m.relates_to": JSON}),
)
OTHERS = st.builds(lambda kind, content: {"type": kind, "event_id": "$o", "sender": ALICE, "origin_server_ts": 1,
                                          "content": content},
                   st.sampled_from(["m.sticker", "m.room.encrypted", "m.call.invite", "m.room.member", "org.odd",
                                    "m.room.redaction", "m.room.name"]), JSON)


def mostly(usual: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The usual three times out of four: the content's oddities then reach the application."""
    return st.integers(min_value=0, max_value=3).flatmap(lambda n: odd if n == 0 else usual)


HOSTILE = st.sampled_from(["", "\ud800", "é\udce9", "\x00", "a\nb", "\u202e", " ", "x" * 300, "é" * 70_000])
SENDERS = mostly(st.just(ALICE), st.one_of(  # nio checks only "@…:…"
    st.sampled_from([BOB, STRANGER, BOT]),
    st.builds(lambda local, server: f"@{local}:{server}", HOSTILE | ODD_TEXT, st.just("fuzz.test")),
    st.builds(lambda local, server: f"@{local}:{server}", ODD_TEXT, ODD_TEXT)))
EVENT_IDS = mostly(st.builds(lambda n: f"$fuzz{n}", st.integers(min_value=0)),
                   (HOSTILE | ODD_TEXT).map(lambda t: "$" + t))
RELATIONS = st.fixed_dictionaries({"rel_type": mostly(st.just("m.annotation"), st.sampled_from(["m.reference", ""])),
                                   "event_id": mostly(st.sampled_from([QUESTION, "$request"]), HOSTILE | ODD_TEXT),
                                   "key": mostly(st.sampled_from(EMOJI), HOSTILE | ODD_TEXT)})
REACTIONS = st.one_of(st.builds(reaction, RELATIONS), st.builds(reaction, ODD), st.builds(reaction, JSON))


def with_content(source: dict[str, Any], content: Any) -> dict[str, Any]:
    return {**source, "content": content}


EVENTS = st.one_of(MESSAGES, REACTIONS, OTHERS).flatmap(  # as drawn, or with keys deleted or odd (mostly content's)
    lambda d: st.one_of(st.just(d), st.builds(with_content, st.just(d), mutated(d["content"], most=2)),
                        mutated(d, most=1)))


def parsed(source: Any, event_id: str, sender: str) -> Any:
    """The event as nio gives it after a sync; None where nio's own parser fails."""
    if not isinstance(source, dict):
        return None
    source = {**source, "event_id": event_id, "sender": sender}
    try:
        return Event.parse_event(source)
    except (KeyError, TypeError, AttributeError):
        # nio's parser itself fails on some malformed envelopes (content missing from an m.room.message, a
        # timestamp that is not a number): in a sync, nio fails the whole response before the adapter sees it.
        return None


def check(seen: list[Incoming]) -> None:
    for incoming in seen:
        assert isinstance(incoming.id, str) and incoming.id.startswith("matrix:$")
        assert isinstance(incoming.user, str) and incoming.user.startswith("matrix:@")
        assert isinstance(incoming.text, str)
        assert incoming.question is None or isinstance(incoming.question, str)
        for text in (incoming.id, incoming.user, incoming.text):
            text.encode("utf-8")  # what the application stores is text


async def answered(bot: Bot) -> None:
    """After whatever came before, Alice's command gets its answer."""
    before = len(bot.outbox())
    assert await bot.app.handle(Incoming(f"matrix:$after{len(bot.outbox())}", f"matrix:{ALICE}", "aide", explicit=True))
    assert [key for who, key in bot.outbox()[before:] if who == f"matrix:{ALICE}"]


@FUZZ
@given(source=EVENTS, room_id=mostly(st.just(DIRECT), st.just(SHARED)), event_id=EVENT_IDS, sender=SENDERS)
async def test_any_event_a_homeserver_sends_is_handled_without_failing(bot, caplog, source, room_id, event_id,
                                                                        sender):
    nio_event = parsed(source, event_id, sender)
    event(type(nio_event).__name__)
    if nio_event is None:
        return
    bot.seen.clear()
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="adapters.matrix.adapter"):
        await bot.adapter._contained(room_id, nio_event)
    assert not [r for r in caplog.records if r.name == "adapters.matrix.adapter"], "the adapter itself failed"
    check(bot.seen)
    event(f"handed to the application: {len(bot.seen)}")


@FUZZ
@given(source=st.one_of(MESSAGES, REACTIONS), room_id=mostly(st.just(DIRECT), st.just(SHARED)), event_id=EVENT_IDS,
       sender=SENDERS, direct=st.booleans())
async def test_translation_yields_typed_prefixed_events_with_stable_ids(bot, source, room_id, event_id, sender,
                                                                         direct):
    nio_event = parsed(source, event_id, sender)
    if not isinstance(nio_event, RoomMessageText | ReactionEvent):
        return  # the only events the adapter translates
    first = await bot.adapter._translate(room_id, nio_event, f"matrix:{sender}", direct)
    again = await bot.adapter._translate(room_id, nio_event, f"matrix:{sender}", direct)
    check([e for e in (first, again) if e is not None])
    assert (first and first.id) == (again and again.id)  # a redelivery has the same id, and is processed once


async def test_the_bot_answers_after_hostile_events(bot, caplog):
    """What fuzzing found: an event id or a sender that is not text (a lone surrogate, which JSON can carry) made
    even the containment fail, and the exception left `_contained`, stopping the sync loop; a reaction to such an
    id failed in storage and was answered with an apology. They are now ignored with a warning, as are a body
    or a reaction key longer than any event can hold; the bot goes on."""
    bot.seen.clear()
    hostile = [message("\ud800"), message("x" * 100_000), message("!boussole \x00\u202e"),
               reaction({"rel_type": "m.annotation", "event_id": QUESTION + "\ud800", "key": "✅"}),
               reaction({"rel_type": "m.annotation", "event_id": QUESTION, "key": "✅" * 10_000}),
               reaction({"rel_type": "m.annotation", "event_id": QUESTION, "key": "✅\udce9"})]
    events = [parsed(source, f"$hostile{n}", ALICE) for n, source in enumerate(hostile)]
    events += [parsed(message("!boussole aide"), event_id, sender) for event_id, sender in (
        ("$\ud800", ALICE), ("$" + "x" * 10_000, ALICE), ("$ok", "@\udce9:fuzz.test"), ("$ok", "@a\x1b:fuzz.test"))]
    with caplog.at_level(logging.WARNING, logger="adapters.matrix.adapter"):
        for nio_event in events:
            await bot.adapter._contained(DIRECT, nio_event)
    assert [e.id for e in bot.seen] == ["matrix:$hostile2"]  # control characters: the application removes them
    assert len([r for r in caplog.records if "not understood" in r.getMessage()]) == len(events) - 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await answered(bot)


async def test_a_reaction_answers_the_posted_question_and_odd_ones_do_not(bot):
    bot.seen.clear()
    odd = parsed(reaction({"rel_type": "m.annotation", "event_id": QUESTION, "key": "✅\x00"}), "$odd", ALICE)
    await bot.adapter._contained(DIRECT, odd)
    assert bot.seen == []
    answer = parsed(reaction({"rel_type": "m.annotation", "event_id": QUESTION, "key": "1️⃣"}), "$one", ALICE)
    await bot.adapter._contained(DIRECT, answer)
    assert [replace(e, question=None) for e in bot.seen] == [Incoming("matrix:$one", f"matrix:{ALICE}", "1")]
