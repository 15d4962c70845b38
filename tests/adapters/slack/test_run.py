"""`boussole run` as operators start it: config file, tokens from the environment, SIGTERM to stop."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
from pathlib import Path

from tests.adapters.slack.conftest import SECRET
from tests.adapters.slack.fake_slack import FakeSlackAPI, SlackClient

ROOT = Path(__file__).resolve().parents[3]


def write_config(path: Path, api_url: str, db: Path) -> None:
    path.write_text(f"""
[storage]
path = "{db}"
[roles.numerique-responsable]
label = "Numérique responsable"
members = ["slack:UNR"]
always = true
[directions.numerique]
label = "Direction du numérique"
managers = ["slack:UMGR"]
[slack]
enabled = true
mode = "http"
host = "127.0.0.1"
port = 0
api_url = "{api_url}"
messages_per_second = 200
""", encoding="utf-8")


async def start_bot(config: Path, env: dict[str, str]) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--config", str(config),
                                                cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert line, "the bot exited before listening"
        if match := re.search(r"listening on port (\d+)", line):
            return proc, int(match.group(1))


async def test_run_serves_slack_and_stops_cleanly_on_sigterm(tmp_path):
    api = FakeSlackAPI()
    url = await api.start()
    db = tmp_path / "b.sqlite3"
    config = tmp_path / "boussole.toml"
    write_config(config, url, db)
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET}
    proc, port = await start_bot(config, env)
    client = SlackClient(f"http://127.0.0.1:{port}/slack/events", SECRET)
    try:
        assert (await client.command("UALICE", "nouveau")).status == 200
        await api.wait_for(lambda: len(api.posted("DUALICE")) >= 2)
        await client.message("UALICE", "Assistant de tri du courrier")
        await api.wait_for(lambda: len(api.posted("DUALICE")) >= 3)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        # restarted: the interview carries on where it was
        proc, port = await start_bot(config, env)
        client2 = SlackClient(f"http://127.0.0.1:{port}/slack/events", SECRET)
        await client2.message("UALICE", "Un outil qui classe les courriers entrants par thème.")
        await api.wait_for(lambda: any("question 3 sur environ" in str(m["blocks"]) for m in api.posted("DUALICE")))
        await client2.close()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
        await client.close()
        await api.stop()
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 2
        assert raw.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0] == 0


async def test_missing_tokens_are_named(tmp_path):
    api_url = "http://127.0.0.1:9/api/"
    config = tmp_path / "boussole.toml"
    write_config(config, api_url, tmp_path / "b.sqlite3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--config", str(config),
                                                cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET" in err.decode()
