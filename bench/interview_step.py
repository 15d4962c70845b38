"""Cost of one interview step (engine + storage, one committed transaction) on a file database.

Baseline in the same run: a bare aiosqlite one-row INSERT and COMMIT with the same
pragmas (WAL, synchronous=FULL) — the floor any durable step pays. Then 1,000 interleaved
interviews, round-robin, to see the tail when the database grows.
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

STATEMENTS_PER_STEP = 9  # what one answer costs Boussole in statements, BEGIN and COMMIT aside


async def bare_commit(path: Path, n: int, statements: int = 1) -> list[float]:
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = FULL")
    await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await conn.execute("BEGIN IMMEDIATE")
        for _ in range(statements):
            await conn.execute("INSERT INTO t(v) VALUES (?)", (f"row {i}",))
        await conn.execute("COMMIT")
        samples.append(time.perf_counter() - start)
    await conn.close()
    return samples


class Runner:
    def __init__(self, app: Boussole) -> None:
        self.app = app
        self.n = 0
        self.pending: dict[str, str | None] = {}

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


async def interview_steps(path: Path, users: int, steps_per_user: int, *, interleaved: bool = True) -> list[float]:
    clock_start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    async with Database(path) as db:
        app = Boussole(config=demo_config(), questionnaire=load_questionnaire(), db=db, clock=lambda: clock_start)
        runner = Runner(app)
        names = [f"console:user{i}" for i in range(users)]
        groups = [names] if interleaved else [[name] for name in names]
        samples = []
        for group in groups:
            for name in group:
                await runner.step(name, "nouveau")
            await runner.drain()
            for _ in range(steps_per_user):
                for name in group:  # interleaved: every user answers one question per round
                    qid = runner.pending.get(name)
                    if qid is None:
                        continue
                    samples.append(await runner.step(name, CLEAN[qid]))
                await runner.drain()
        return samples


async def main() -> dict[str, float]:
    print("interview step: engine + storage, one transaction per step, file database")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        floor = describe("bare aiosqlite insert + commit (floor)", await bare_commit(base / "bare.db", 2000))
        same = describe(f"bare, {STATEMENTS_PER_STEP} inserts + commit (same hops)",
                        await bare_commit(base / "bare9.db", 2000, STATEMENTS_PER_STEP))
        await interview_steps(base / "warm.db", 1, 10)  # imports, caches: not measured
        single = describe("interview step, 10 users one after the other",
                          await interview_steps(base / "one.db", 10, 30, interleaved=False))
        many = describe("interview step, 1,000 interleaved interviews", await interview_steps(base / "many.db",
                                                                                             1000, 10))
    r = ratio("median step / median bare commit", single["median_ms"], floor["median_ms"], target=3.0)
    ratio("median step / bare with as many statements", single["median_ms"], same["median_ms"])
    print(f"  {'p99 with 1,000 interleaved interviews':<44} {many['p99_ms']:6.2f} ms"
          f"{'  OK' if many['p99_ms'] < 50 else '  ABOVE TARGET 50 ms'}")
    return {"floor_median_ms": floor["median_ms"], "step_median_ms": single["median_ms"], "ratio": r,
            "interleaved_p99_ms": many["p99_ms"]}


if __name__ == "__main__":
    asyncio.run(main())
