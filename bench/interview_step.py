"""Cost of one interview step (engine + storage, one committed transaction) on a file database.

Baseline in the same run: a bare durable transaction with the same pragmas (WAL,
synchronous=FULL): five small inserts and a commit, about what one answer writes. Plain code is
expected at 3–6× that floor. Then 1,000 interleaved interviews, round-robin, to see the tail
when the database grows (target: p99 under 50 ms).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

import aiosqlite

from bench.common import describe, ratio
from bot.app import Boussole
from bot.config import demo_config
from bot.storage import Database
from conversations.model import Incoming
from conversations.questionnaire import load_questionnaire
from tests.helpers import CLEAN

STATEMENTS_PER_STEP = 5  # what one answer writes: event id, assessment, answer, audit record, reply
ROUNDS = 12


class BareCommits:
    """The floor: small INSERTs and a COMMIT in a `BEGIN IMMEDIATE` transaction, same pragmas."""

    def __init__(self, conn: aiosqlite.Connection, statements: int = 1) -> None:
        self.conn = conn
        self.statements = statements
        self.n = 0

    @classmethod
    async def open(cls, path: Path, statements: int = 1) -> BareCommits:
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        return cls(conn, statements)

    async def run(self, n: int) -> list[float]:
        samples = []
        for _ in range(n):
            self.n += 1
            start = time.perf_counter()
            await self.conn.execute("BEGIN IMMEDIATE")
            for _ in range(self.statements):
                await self.conn.execute("INSERT INTO t(v) VALUES (?)", (f"row {self.n}",))
            await self.conn.execute("COMMIT")
            samples.append(time.perf_counter() - start)
        return samples


class Interviews:
    """Requesters answering with the clean answers of the tests, through `Boussole.handle`."""

    def __init__(self, app: Boussole) -> None:
        self.app = app
        self.n = 0
        self.pending: dict[str, str | None] = {}
        self.started = 0

    async def step(self, user: str, text: str) -> float:
        self.n += 1
        start = time.perf_counter()
        await self.app.handle(Incoming(f"bench-{self.n}", user, text))
        return time.perf_counter() - start

    async def drain(self) -> None:
        async def note(row, rendered):
            if rendered.question is not None:
                self.pending[row.recipient] = rendered.question["id"]
            elif rendered.kind in ("summary", "blocker"):
                self.pending[row.recipient] = None

        await self.app.deliver("console", note, limit=1000)

    async def start(self, users: int) -> list[str]:
        names = [f"console:user{self.started + i}" for i in range(users)]
        self.started += users
        for name in names:
            await self.step(name, "nouveau")
        await self.drain()
        return names

    async def answer_round(self, names: list[str]) -> list[float]:
        """Every user still answering answers their pending question once."""
        samples = [await self.step(name, CLEAN[self.pending[name]]) for name in names if self.pending.get(name)]
        await self.drain()
        return samples

    async def answer(self, n: int) -> list[float]:
        """n steps of one interview at a time; a new requester starts when one is done (not measured)."""
        samples: list[float] = []
        current = [name for name, pending in self.pending.items() if pending]
        while len(samples) < n:
            if not current:
                current = await self.start(1)
            samples += await self.answer_round(current[:1])
            current = [name for name in current if self.pending.get(name)]
        return samples


def new_app(db: Database) -> Boussole:
    clock_start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    return Boussole(config=demo_config(), questionnaire=load_questionnaire(), db=db, clock=lambda: clock_start)


async def main() -> dict[str, float]:
    print("interview step: engine + storage, one transaction per step, file database")
    print("  (floor and step measured in alternating rounds, so both see the same disk)")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        bare = await BareCommits.open(base / "bare.db", STATEMENTS_PER_STEP)
        async with Database(base / "one.db") as db, Database(base / "many.db") as many_db:
            one = Interviews(new_app(db))
            await one.answer(30)  # imports and first pages: not measured
            floor: list[float] = []
            single: list[float] = []
            for _ in range(ROUNDS):
                floor += await bare.run(50)
                single += await one.answer(30)
            floor_figures = describe(f"bare: {STATEMENTS_PER_STEP} inserts + commit (floor)", floor)
            single_figures = describe("interview step, one interview at a time", single)

            crowd = Interviews(new_app(many_db))
            names = await crowd.start(1000)
            interleaved: list[float] = []
            for _ in range(10):  # every user answers one question per round
                interleaved += await crowd.answer_round(names)
            many = describe("interview step, 1,000 interleaved interviews", interleaved)
        await bare.conn.close()
    r = ratio("median step / median floor (expected 3–6×)", single_figures["median_ms"], floor_figures["median_ms"],
              target=6.0)
    print(f"  {'p99 with 1,000 interleaved interviews':<44} {many['p99_ms']:6.2f} ms"
          f"{'  OK' if many['p99_ms'] < 50 else '  ABOVE TARGET 50 ms'}")
    return {"floor_median_ms": floor_figures["median_ms"], "step_median_ms": single_figures["median_ms"],
            "ratio": r, "interleaved_p99_ms": many["p99_ms"]}


if __name__ == "__main__":
    asyncio.run(main())
