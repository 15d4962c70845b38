"""`boussole run` with Matrix, killed with SIGKILL mid-interview, while the requester keeps typing."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sqlite3
import sys
from pathlib import Path

from tests.adapters.matrix.conftest import PASSWORD
from tests.adapters.matrix.people import Person, wait_until
from tests.adapters.test_console import script_for_clean_interview

ROOT = Path(__file__).resolve().parents[3]


def write_config(path: Path, homeserver: str, bot: str, db: Path, store: Path) -> None:
    path.write_text(f"""
[storage]
path = "{db}"
[roles.nr]
label = "Numérique responsable"
members = ["matrix:@nobody:localhost"]
always = true
[directions.numerique]
label = "Direction du numérique"
[matrix]
enabled = true
homeserver = "{homeserver}"
user_id = "{bot}"
device_id = "BOUSSOLERUN"
store_path = "{store}"
encryption = true
""", encoding="utf-8")


async def start(config: Path, log: Path) -> asyncio.subprocess.Process:
    """Start the bot with its log in a file (a pipe nobody reads would block it), and wait until it runs."""
    env = {**os.environ, "MATRIX_PASSWORD": PASSWORD}
    starts = log.read_text().count("running") if log.exists() else 0
    with log.open("ab") as sink:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--config", str(config),
                                                    cwd=ROOT, env=env, stderr=sink)
    await wait_until(lambda: log.read_text().count("running") > starts or proc.returncode is not None, 60)
    assert proc.returncode is None, log.read_text()[-2000:]
    return proc


async def test_killed_mid_interview_loses_nothing_and_repeats_nothing(matrix, tmp_path):
    db = tmp_path / "run.sqlite3"
    config = tmp_path / "boussole.toml"
    write_config(config, matrix.synapse.url, matrix.bot_id, db, tmp_path / "store")
    script = script_for_clean_interview()
    log = tmp_path / "bot.log"
    ids = script_question_ids()
    proc = await start(config, log)
    alice = await matrix.person("alice", encryption=True)
    try:
        room = await alice.dm(matrix.bot_id, encrypted=True)
        await alice.say(room, "!boussole nouveau")
        for n, answer in enumerate(script[:5]):
            await alice.next_from_bot(0, lambda e, qid=ids[n]: Person.meta(e).get("question") == qid)
            await alice.say(room, answer)
        await alice.next_from_bot(0, lambda e: Person.meta(e).get("question") == ids[5])
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        # The requester does not know the bot is down and answers the next twelve questions.
        for answer in script[5:17]:
            await alice.say(room, answer)
        proc = await start(config, log)
        asked_next = ids[17]
        await alice.next_from_bot(0, lambda e: Person.meta(e).get("question") == asked_next, timeout=60)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
    asked = collections.Counter(Person.meta(e).get("question") for e in alice.from_bot()
                                if Person.meta(e).get("question"))
    assert all(count == 1 for count in asked.values()), asked  # nothing asked twice
    assert alice.undecryptable() == 0
    with sqlite3.connect(db) as raw:
        answered = [r[0] for r in raw.execute("SELECT question_id FROM answers ORDER BY id")]
        errors = raw.execute("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%\"kind\": \"error\"%'").fetchone()[0]
    assert answered == ids[:17]  # every answer, once, in order
    assert errors == 0


def script_question_ids() -> list[str]:
    from conversations.questionnaire import load_questionnaire
    from conversations.rules import is_applicable
    from tests.conversations.test_rules import _answers
    questionnaire = load_questionnaire()
    answers = _answers(questionnaire)
    return [q.id for q in questionnaire.questions if is_applicable(q, answers)]
