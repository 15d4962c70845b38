"""Building and publishing one Slack App Home view (the dashboard) against the fake Web API.

A file database with 1,000 assessments (approved, in review, drafts, sent back, rejected) and 50
reviewers in five roles, three of them also managers of a direction, some with assessments of their
own. Each sample is one `publish_home` for one of the reviewers in turn: a reading transaction for
the dashboard's rows (their assessments, the reviews waiting for them, their directions' digest),
the words, the Block Kit view, and `views.publish` over HTTP to the fake Web API on 127.0.0.1.
The baseline in the same run, interleaved with it, is a bare `views.publish` of a fixed view (the
largest view of the run) through the same client. One reviewer in ten is away this week, with a
colleague of another role as delegate, who then sees that member's requests too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.slack.adapter import SlackAdapter
from adapters.slack.blocks import home_view
from bench.common import describe, ratio
from bot import dashboard
from bot.app import Boussole
from bot.config import Config, DirectionConfig, RoleConfig, SlackConfig
from bot.storage import Database
from conversations.model import utc_iso
from conversations.questionnaire import load_questionnaire
from tests.adapters.slack.fake_slack import FakeSlackAPI

NOW = dt.datetime(2027, 6, 1, 7, 0, tzinfo=dt.UTC)
ROLES = ("dpo", "rssi", "juridique", "numerique-responsable", "archives")
DIRECTIONS = ("numerique", "relation-usagers", "mobilites")
STATE = json.dumps({"answers": {}, "pending": "ctx_purpose", "revisiting": False, "blocked_on": None,
                    "exceptions": {}, "previous": {}})


def reviewer(n: int) -> str:
    return f"slack:UREV{n:02d}"


def bench_config(api_url: str, reviewers: int) -> Config:
    per_role = max(1, reviewers // len(ROLES))
    roles = {name: RoleConfig(label=name.upper(), members=[reviewer(i * per_role + m) for m in range(per_role)],
                              criteria=[i + 1], always=name == "numerique-responsable")
             for i, name in enumerate(ROLES)}
    directions = {name: DirectionConfig(label=f"Direction {name}", managers=[reviewer(i * per_role)])
                  for i, name in enumerate(DIRECTIONS)}
    return Config(roles=roles, directions=directions,
                  slack=SlackConfig(enabled=True, mode="http", port=0, host="127.0.0.1", api_url=api_url,
                                    messages_per_second=1000))


def populate(path: Path, total: int, reviewers: int) -> None:
    """Write `total` assessments and their waiting reviews straight into a migrated database (setup)."""
    rows, reviews = [], []
    for i in range(1, total + 1):
        created = NOW - dt.timedelta(days=(i * 7919) % 90, hours=i % 24)
        requester = reviewer(i % reviewers) if i % 20 == 0 else f"slack:UAGENT{i % 300:03d}"
        kind = i % 10
        next_review, review_round = None, 0
        if kind < 4:
            status, next_review = "approved", utc_iso(NOW + dt.timedelta(days=((i * 104729) % 395) - 30))
        elif kind < 7:
            status, review_round = "in_review", 1
            waiting = [r for n, r in enumerate(ROLES) if n == 3 or (i + n) % 3 == 0]
            reviews += [(i, 1, role, utc_iso(created)) for role in waiting]
        elif kind < 9:
            status = "draft"
        else:
            status = "changes_requested" if i % 2 else "rejected"
        rows.append((i, requester, status, "2024.1", f"Usage n°{i} de la direction", DIRECTIONS[i % 3], STATE,
                     utc_iso(created), utc_iso(created), next_review, review_round))
    with sqlite3.connect(path) as raw:
        raw.executemany("INSERT INTO assessments(id, requester, status, questionnaire_version, title, direction, "
                        "state, created_at, updated_at, next_review_at, review_round) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        rows)
        raw.executemany("INSERT INTO reviews(assessment_id, round, role, requested_at) VALUES (?,?,?,?)", reviews)
        away = [(reviewer(n), (NOW - dt.timedelta(days=2)).date().isoformat(),
                 (NOW + dt.timedelta(days=5)).date().isoformat(), reviewer((n + 11) % reviewers), utc_iso(NOW))
                for n in range(0, reviewers, 10)]
        raw.executemany("INSERT INTO absences(user, starts_on, ends_on, delegate, created_at) VALUES (?,?,?,?,?)",
                        away)


async def run(*, assessments: int = 1_000, reviewers: int = 50, samples: int = 500,
              rounds: int = 10) -> dict[str, Any]:
    api = FakeSlackAPI()
    url = await api.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "b.db"
            async with Database(path):
                pass
            populate(path, assessments, reviewers)
            async with Database(path) as db:
                config = bench_config(url, reviewers)
                app = Boussole(config=config, questionnaire=load_questionnaire(), db=db, clock=lambda: NOW)
                assert config.slack is not None
                adapter = SlackAdapter(app, config.slack, {"SLACK_BOT_TOKEN": "xoxb-bench"})
                people = [reviewer(n) for n in range(reviewers)]
                for user in people:  # warm-up: connections, imports, and each reviewer's Home opened once
                    await adapter.publish_home(user)
                published = [call["view"] for call in api.method_calls("views.publish")]
                fixed = max(published, key=lambda view: len(json.dumps(view)))
                bare: list[float] = []
                ours: list[float] = []
                building: list[float] = []
                per_round = max(1, samples // rounds)
                for _ in range(rounds):
                    for n in range(per_round):
                        start = time.perf_counter()
                        await adapter._call("views.publish", user_id=people[n % reviewers].removeprefix("slack:"),
                                            view=fixed)
                        bare.append(time.perf_counter() - start)
                    for n in range(per_round):
                        start = time.perf_counter()
                        await adapter.publish_home(people[n % reviewers])
                        ours.append(time.perf_counter() - start)
                    for n in range(per_round):
                        start = time.perf_counter()
                        async with db.reading() as tx:
                            shown = await dashboard.rendered(app, tx, people[n % reviewers])
                        home_view(shown)
                        building.append(time.perf_counter() - start)
        published = [call["view"] for call in api.method_calls("views.publish")]
    finally:
        await api.stop()
    blocks = [len(view["blocks"]) for view in published]
    return {"bare": bare, "ours": ours, "building": building, "largest_view_blocks": max(blocks),
            "views": len(published)}


async def main() -> dict[str, float]:
    print("Slack App Home: build and publish one dashboard view (1,000 assessments, 50 reviewers; "
          "baseline: a bare views.publish of a fixed view, same run, same client)")
    figures = await run()
    bare = describe("bare views.publish of a fixed view", figures["bare"])
    ours = describe("build + publish one App Home view", figures["ours"])
    describe("  of which building the view (no HTTP)", figures["building"])
    print(f"  {'largest view':<44} {figures['largest_view_blocks']} blocks (Slack's limit: 100)")
    r = ratio("p99 build + publish / p99 bare publish", ours["p99_ms"], bare["p99_ms"], target=2.0)
    ratio("median build + publish / median bare publish", ours["median_ms"], bare["median_ms"])
    return {"bare_p99_ms": bare["p99_ms"], "p99_ms": ours["p99_ms"], "p50_ms": ours["median_ms"], "ratio": r}


if __name__ == "__main__":
    asyncio.run(main())
