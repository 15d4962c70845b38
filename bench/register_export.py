"""Register exports from a database of 1,000 assessments with full answers: each format's time.

Baseline in the same run: reading the same rows alone (the floor of any export).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from bot.config import demo_config
from bot.register import export, snapshot
from bot.storage import Database
from conversations.answers import parse_answer
from conversations.questionnaire import Choice, LocalText, load_questionnaire
from conversations.rules import is_applicable
from tests.helpers import CLEAN

TOTAL = 1000
NOW = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)


def clean_state() -> str:
    questionnaire = load_questionnaire()
    answers = {}
    directions = (Choice("numerique", LocalText("Numérique", "Digital")),)
    for question in questionnaire.questions:
        if question.id in CLEAN and is_applicable(question, answers):
            parsed = parse_answer(question, CLEAN[question.id],
                                  directions if question.choices_from == "directions" else None)
            answers[question.id] = parsed
    return json.dumps({"answers": {k: v.to_json() for k, v in answers.items()}, "pending": None,
                       "revisiting": False, "blocked_on": None, "exceptions": {}, "previous": {}})


async def main() -> dict[str, float]:
    print(f"register exports over {TOTAL:,} approved assessments with full answers")
    state = clean_state()
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.db"
        async with Database(path):
            pass
        with sqlite3.connect(path) as raw:
            raw.executemany(
                "INSERT INTO assessments(id, requester, status, questionnaire_version, title, direction, state, "
                "created_at, updated_at, decided_at, next_review_at, review_round) "
                "VALUES (?, ?, 'approved', '2024.1', ?, 'numerique', ?, ?, ?, ?, ?, 1)",
                [(i, f"console:u{i}", f"Usage {i}", state, NOW.isoformat(), NOW.isoformat(), NOW.isoformat(),
                  (NOW + dt.timedelta(days=365)).isoformat()) for i in range(1, TOTAL + 1)])
            raw.executemany("INSERT INTO reviews(assessment_id, round, role, requested_at, decision, reviewer, "
                            "decided_at) VALUES (?, 1, 'numerique-responsable', ?, 'approve', 'console:nr', ?)",
                            [(i, NOW.isoformat(), NOW.isoformat()) for i in range(1, TOTAL + 1)])
        async with Database(path) as db:
            start = time.perf_counter()
            async with db.reading() as tx:
                await tx.fetchall("SELECT * FROM assessments WHERE status = 'approved'")
            floor = time.perf_counter() - start
            print(f"  {'reading the rows alone (floor)':<30} {floor * 1000:8.1f} ms")
            questionnaire, config = load_questionnaire(), demo_config()
            for fmt in ("csv", "json", "md", "html"):
                start = time.perf_counter()
                items, head = await snapshot(db, questionnaire, config)
                text = export(items, fmt, NOW, head=head)
                took = time.perf_counter() - start
                figures[fmt] = took
                verdict = "OK" if took < 2 else "ABOVE TARGET 2 s"
                print(f"  {fmt:<30} {took * 1000:8.1f} ms  {len(text) / 2**20:5.1f} MiB  ({took / floor:4.0f}× the "
                      f"floor)  {verdict}")
    return figures


if __name__ == "__main__":
    asyncio.run(main())
