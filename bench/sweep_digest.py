"""The due-reminder sweep and the digests over many assessments on a file database.

Builds 1k, 10k and 100k assessments (approved with re-evaluation dates spread over a year,
drafts, reviews waiting), then times: the first sweep at an instant (what is due gets
queued), the steady-state sweep a minute later (nothing new: the cost of every run), and
all digests. Peak memory by tracemalloc. The baseline in the same run is one indexed
lookup of the due rows alone: the sweep's cost should follow the number of due items.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

from bot.app import Boussole
from bot.config import demo_config
from bot.digest import run_digests
from bot.reminders import sweep
from bot.storage import Database
from conversations.model import utc_iso
from conversations.questionnaire import load_questionnaire

NOW = dt.datetime(2027, 6, 1, 7, 0, tzinfo=dt.UTC)
STATE = json.dumps({"answers": {}, "pending": None, "revisiting": False, "blocked_on": None, "exceptions": {},
                    "previous": {}})


def populate(path: Path, total: int) -> None:
    """Write `total` assessments straight into a migrated database (setup, not measured)."""
    directions = ["numerique", "relation-usagers", "mobilites"]
    rows, reviews = [], []
    for i in range(1, total + 1):
        created = NOW - dt.timedelta(days=(i * 7919) % 700)
        kind = i % 10
        if kind < 7:   # approved: next review spread over the next year and the past month
            status, next_review = "approved", utc_iso(NOW + dt.timedelta(days=((i * 104729) % 395) - 30))
        elif kind < 9:
            status, next_review = "in_review", None
            reviews.append((i, 1, "numerique-responsable", utc_iso(created)))
        else:
            status, next_review = "draft", None
        rows.append((i, f"console:user{i % 500}", status, "2024.1", f"Usage {i}", directions[i % 3], STATE,
                     utc_iso(created), utc_iso(created), next_review, 1 if status == "in_review" else 0))
    with sqlite3.connect(path) as raw:
        raw.executemany("INSERT INTO assessments(id, requester, status, questionnaire_version, title, direction, "
                        "state, created_at, updated_at, next_review_at, review_round) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        rows)
        raw.executemany("INSERT INTO reviews(assessment_id, round, role, requested_at) VALUES (?,?,?,?)", reviews)


async def measure(total: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.db"
        async with Database(path):
            pass
        populate(path, total)
        async with Database(path) as db:
            app = Boussole(config=demo_config(), questionnaire=load_questionnaire(), db=db, clock=lambda: NOW)
            start = time.perf_counter()
            async with db.reading() as tx:
                due = await tx.fetchall("SELECT id FROM assessments WHERE next_review_at IS NOT NULL "
                                        "AND next_review_at <= ? AND status IN ('approved', 'approved_with_"
                                        "reservations')", (utc_iso(NOW + dt.timedelta(days=30)),))
            lookup = time.perf_counter() - start
            start = time.perf_counter()
            first = await sweep(app, NOW)
            first_s = time.perf_counter() - start
            start = time.perf_counter()
            steady = await sweep(app, NOW + dt.timedelta(minutes=1))
            steady_s = time.perf_counter() - start
            start = time.perf_counter()
            digests = await run_digests(app, NOW, slot="bench")
            digest_s = time.perf_counter() - start
            # Memory in a separate pass: tracemalloc slows Python down several times over.
            tracemalloc.start()
            await sweep(app, NOW + dt.timedelta(minutes=2))
            await run_digests(app, NOW, slot="bench-memory")
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    print(f"  {total:>7,} assessments: due {len(due):>6,} | lookup {lookup * 1000:7.1f} ms | "
          f"first sweep {first_s * 1000:8.1f} ms ({len(first):,} queued) | steady sweep {steady_s * 1000:7.1f} ms "
          f"({len(steady)}) | all digests {digest_s * 1000:7.1f} ms ({len(digests)})"
          f" | peak (steady sweep + digests) {peak / 2**20:6.1f} MiB")
    return {"total": total, "due": len(due), "steady_ms": steady_s * 1000, "first_ms": first_s * 1000,
            "digest_ms": digest_s * 1000}


async def main() -> list[dict[str, float]]:
    print("reminder sweep and digests (file database; baseline: the indexed lookup of due rows)")
    results = [await measure(n) for n in (1_000, 10_000, 100_000)]
    ten_k = results[1]
    print(f"  at 10k: steady sweep {ten_k['steady_ms']:.1f} ms (target < 100 ms), all digests "
          f"{ten_k['digest_ms']:.1f} ms (target < 1,000 ms)")
    per_due = [r["steady_ms"] / max(r["due"], 1) for r in results]
    print("  steady sweep per due item: " + ", ".join(f"{p * 1000:.0f} µs" for p in per_due))
    return results


if __name__ == "__main__":
    asyncio.run(main())
