"""Migrations, the append-only hash-chained audit trail, the outbox and event ids."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

import pytest

from bot import storage
from bot.storage import GENESIS_HASH, Database, StorageError, audit_hash


async def test_migrations_from_an_empty_file(db_path):
    async with Database(db_path) as db:
        assert await db.schema_version() == len(storage.MIGRATIONS)
    with sqlite3.connect(db_path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"assessments", "answers", "findings", "conversations", "audit", "outbox",
                "processed_events"} <= tables
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("start", range(1, len(storage.MIGRATIONS)))
async def test_migrations_from_each_earlier_version(db_path, start):
    with sqlite3.connect(db_path) as raw:  # a file exactly as version `start` left it
        for number in range(1, start + 1):
            raw.executescript(storage.MIGRATIONS[number - 1])
        raw.execute(f"PRAGMA user_version = {start}")
        raw.execute("INSERT INTO assessments(id, requester, status, questionnaire_version, state, created_at, "
                    "updated_at) VALUES (1, 'console:a', 'draft', '2024.1', '{}', 't', 't')")
    async with Database(db_path) as db:
        assert await db.schema_version() == len(storage.MIGRATIONS)
        async with db.reading() as tx:
            row = await tx.fetchone("SELECT requester FROM assessments WHERE id = 1")
        assert row["requester"] == "console:a"  # data kept across the upgrade


async def test_migrating_twice_changes_nothing(db_path):
    async with Database(db_path):
        pass
    async with Database(db_path) as db:
        assert await db.migrate() == len(storage.MIGRATIONS)


async def test_a_newer_database_is_refused(db_path):
    with sqlite3.connect(db_path) as raw:
        raw.execute("PRAGMA user_version = 999")
    with pytest.raises(StorageError, match="newer than this Boussole"):
        await Database(db_path).open()


async def test_audit_is_hash_chained_and_append_only(db_path):
    async with Database(db_path) as db:
        async with db.transaction() as tx:
            await tx.audit(actor="console:a", action="created", assessment_id=1, detail={"x": 1},
                           now="2026-01-01T00:00:00+00:00")
            await tx.audit(actor="console:a", action="answer", assessment_id=1, detail={"q": "é"},
                           now="2026-01-01T00:00:01+00:00")
        async with db.reading() as tx:
            first, second = await tx.audit_trail(1)
        assert first.prev_hash == GENESIS_HASH
        assert second.prev_hash == first.hash
        assert second.hash == audit_hash(first.hash, second.at, second.actor, second.action, 1, '{"q": "é"}')
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with db.transaction() as tx:
                await tx.execute("UPDATE audit SET actor = 'console:mallory'")


async def test_event_ids_are_claimed_once(db_path):
    async with Database(db_path) as db, db.transaction() as tx:
        assert await tx.claim_event("slack:Ev1", "t")
        assert not await tx.claim_event("slack:Ev1", "t")


async def test_a_failed_transaction_leaves_nothing(db_path):
    async with Database(db_path) as db:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.enqueue([("console:a", {"text": "x"})], "t")
                raise RuntimeError("crash mid-step")
        async with db.reading() as tx:
            assert await tx.undelivered("console") == []


async def test_a_task_cancelled_as_it_begins_leaves_no_transaction_open(db_path):
    async with Database(db_path) as db:
        async def read_forever() -> None:
            async with db.reading() as tx:
                await tx.undelivered("console")
                await asyncio.Event().wait()

        for attempt in range(20):  # cancelled at every point of its way in, including while BEGIN is on its way
            task = asyncio.create_task(read_forever())
            for _ in range(attempt % 4):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            async with db.transaction() as tx:
                await tx.enqueue([("console:a", {"n": attempt})], "t")
        async with db.reading() as tx:
            assert len(await tx.undelivered("console")) == 20


async def test_outbox_is_delivered_in_order_per_transport(db_path):
    async with Database(db_path) as db:
        async with db.transaction() as tx:
            await tx.enqueue([("console:a", {"n": n}) for n in range(3)], "t")
            await tx.enqueue([("slack:U1", {"n": 9})], "t")
        async with db.transaction() as tx:
            rows = await tx.undelivered("console")
            assert [r.payload["n"] for r in rows] == [0, 1, 2]
            await tx.mark_delivered(rows[0].id, "t2")
            assert [r.payload["n"] for r in await tx.undelivered("console")] == [1, 2]
            assert [r.payload["n"] for r in await tx.undelivered("slack")] == [9]


async def test_a_task_cancelled_again_while_it_cleans_up_still_ends_its_transaction(db_path):
    async with Database(db_path) as db:
        async def write_forever() -> None:
            async with db.transaction() as tx:
                await tx.enqueue([("console:a", {"n": "never"})], "t")
                await asyncio.Event().wait()

        for attempt in range(12):  # the second cancellation lands at every point of the cleanup
            task = asyncio.create_task(write_forever())
            for _ in range(3):
                await asyncio.sleep(0)
            task.cancel()
            for _ in range(attempt % 6):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            async with db.transaction() as tx:  # would say "cannot start a transaction within a transaction"
                await tx.enqueue([("console:a", {"n": attempt})], "t")
        async with db.reading() as tx:
            assert [r.payload["n"] for r in await tx.undelivered("console")] == list(range(12))
