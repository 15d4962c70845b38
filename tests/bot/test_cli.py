"""The command line: reminders and digests as an operator runs them against a bot's database."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.scheduler import Scheduler
from tests.adapters.test_console import run_console, script_for_clean_interview
from tests.helpers import Chat, submitted

ROOT = Path(__file__).resolve().parents[2]


def boussole(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, check=True)


def test_reminders_at_an_instant_dry_then_for_real(tmp_path):
    db = tmp_path / "b.db"
    run_console(db, ["nouveau", *script_for_clean_interview(), "soumettre",
                     json.dumps({"as": "nr", "text": "valider 1"})])
    next_year = (dt.date.today() + dt.timedelta(days=731 + 20)).isoformat()  # level I, 24 months; + 20 days: escalated
    dry = boussole("reminders", "--db", str(db), "--at", f"{next_year}T09:00", "--dry-run")
    assert dry.stdout.splitlines() == ["console:agent\treevaluation_due\t1",
                                       "console:manager\tescalation\t1"]
    real = boussole("reminders", "--db", str(db), "--at", f"{next_year}T09:00")
    assert real.stdout == dry.stdout
    again = boussole("reminders", "--db", str(db), "--at", f"{next_year}T09:05")
    assert again.stdout == ""
    # the running bot's adapter delivers what the sweep queued
    out = run_console(db, [])
    assert [o["kind"] for o in out if o["to"] in ("agent", "manager")][-2:] == ["reminder", "reminder"]


def test_digest_now_for_one_manager(tmp_path):
    db = tmp_path / "b.db"
    run_console(db, ["nouveau", *script_for_clean_interview(), "soumettre"])
    done = boussole("digest", "--db", str(db), "--now", "--manager", "console:manager")
    assert done.stdout.splitlines() == ["console:manager\tdigest\t-"]
    assert boussole("digest", "--db", str(db), "--now", "--manager", "console:manager2").stdout == ""


def test_bad_instant_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "reminders", "--db", str(tmp_path / "b.db"), "--at",
                           "tomorrow"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "is not a date-time" in done.stderr


async def test_scheduler_start_sweeps_what_fell_due_while_down(app, clock):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"valider {n}", user="console:nr")
    clock.advance(days=745)   # a level I use: re-evaluated after 24 months
    scheduler = Scheduler(app)
    await scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler.scheduler.get_jobs()}
        assert jobs["sweep"].misfire_grace_time is None and jobs["sweep"].coalesce
        assert jobs["digest"].misfire_grace_time == 12 * 3600
    finally:
        scheduler.stop()
    async with app.db.reading() as tx:
        sent = await tx.fetchall("SELECT recipient, kind FROM notices_sent WHERE assessment_id = ?", (n,))
    assert {(r["recipient"], r["kind"]) for r in sent} == {("console:alice", "reevaluation_due"),
                                                           ("console:manager", "escalation")}


def _damaged(tmp_path: Path, kind: str) -> Path:
    """A database file as an operator may find it after a bad copy, a disk fault or a wrong path."""
    good = tmp_path / "good.db"
    run_console(good, ["nouveau", "Tri du courrier entrant"])
    target = tmp_path / f"{kind}.db"
    if kind == "truncated":
        target.write_bytes(good.read_bytes()[:8192])
    elif kind == "random":
        target.write_bytes(bytes((n * 131 + 17) % 256 for n in range(20_000)))
    elif kind == "header_only":
        target.write_bytes(b"SQLite format 3\x00")
    elif kind == "under_a_file":
        (tmp_path / "a_file").write_text("not a folder")
        target = tmp_path / "a_file" / "boussole.db"
    return target


@pytest.mark.parametrize("kind", ["truncated", "random", "header_only", "under_a_file"])
@pytest.mark.parametrize("command", [["console"], ["register", "--format", "json"], ["audit", "verify"]])
def test_an_unusable_database_is_named_with_its_problem_and_exits_2(tmp_path, kind, command):
    db = _damaged(tmp_path, kind)
    done = subprocess.run([sys.executable, "-m", "bot", *command, "--db", str(db)], capture_output=True, text=True,
                          cwd=ROOT, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr[-2000:]
    assert str(db) in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
