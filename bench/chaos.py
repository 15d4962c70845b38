"""Chaos: terminal and Slack users interview at once while the bot's processes are killed (SIGKILL) and restarted.

One `boussole run` serves Slack in HTTP mode (against the fake Web API on 127.0.0.1) and one or more
`boussole console --json` processes serve terminal users, all on the same SQLite file. A seeded random
schedule kills one of them at a time and starts it again. The clients behave like the real transports:

- a Slack user sends a DM message and sends it again (same event_id, X-Slack-Retry-Num) until it gets
  HTTP 200; the next message goes only after the previous one was acknowledged;
- a terminal user writes JSON lines with an "id"; when its process was restarted, it writes again, in
  order, every line whose id is not in processed_events (read from the database file, read-only).

After a final clean restart lets the inboxes drain, every acknowledged answer must be committed exactly
once: the figures compare what the clients were told against the `answers` table.

Settings come from the environment (`python -m bench chaos`) or the command line (`python -m bench.chaos -h`):
CHAOS_SEED, CHAOS_SECONDS (the chaos phase), CHAOS_DRAIN_SECONDS, CHAOS_USERS (per transport), CHAOS_KILLS,
CHAOS_CONSOLES, CHAOS_ANSWERS (answers per interview; default all), CHAOS_WINDOW, CHAOS_THINK_S.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import Boussole
from bot.config import load_config
from bot.storage import Database
from conversations.model import Incoming
from conversations.questionnaire import load_questionnaire
from tests.adapters.slack.fake_slack import FakeSlackAPI, sign
from tests.adapters.test_console import script_for_clean_interview

ROOT = Path(__file__).resolve().parents[1]
SECRET = "chaos-secret"
SLACK_TIMEOUT_S = 3.0  # Slack gives up on a request after 3 seconds and sends it again


@dataclass
class Settings:
    seed: int = 0                   # 0: a fresh one, printed
    seconds: float = 60.0           # the chaos phase: users answer, processes are killed
    drain_seconds: float = 20.0     # the final clean restart: at most this long to drain
    users: int = 10                 # per transport
    kills: int = 25                 # at most
    consoles: int = 2               # `boussole console --json` processes
    answers: int = 0                # answers per interview; 0: the whole clean interview
    gap_s: tuple[float, float] = (0.4, 2.5)   # between a restart and the next kill
    down_s: tuple[float, float] = (0.0, 0.8)  # how long a killed process stays down
    window: int = 3                 # terminal lines written ahead of what was processed
    think_s: float = 0.0            # a user's mean pause between messages; 0: spread over 60% of the phase

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = dict(os.environ if environ is None else environ)
        names = {"seed": int, "seconds": float, "drain_seconds": float, "users": int, "kills": int,
                 "consoles": int, "answers": int, "window": int, "think_s": float}
        given = {name: kind(environ[f"CHAOS_{name.upper()}"]) for name, kind in names.items()
                 if environ.get(f"CHAOS_{name.upper()}")}
        return cls(**given)


def read_only(path: Path, **options: Any) -> sqlite3.Connection:
    """A connection that cannot write (query_only): a `mode=ro` one could not open a WAL file whose -shm is gone."""
    conn = sqlite3.connect(path, **options)
    conn.execute("PRAGMA query_only = ON")
    return conn


# -- the database, read-only, for the clients' bookkeeping and the final count -------------------------
class Reader:
    """Queries on the bot's database file, off the event loop; the connection refuses any write."""

    def __init__(self, path: Path) -> None:
        self.conn = read_only(path, check_same_thread=False)
        self.lock = asyncio.Lock()

    def close(self) -> None:
        self.conn.close()

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        async with self.lock:
            return await asyncio.to_thread(lambda: self.conn.execute(sql, params).fetchall())

    async def processed(self, event_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found |= {r[0] for r in await self.rows(
                f"SELECT event_id FROM processed_events WHERE event_id IN ({marks})", tuple(chunk))}
        return found


# -- the bot's processes -----------------------------------------------------------------------------
class Process:
    """One bot process, killed and started again; its stderr appended to a log file."""

    def __init__(self, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.generation = 0
        self.up = asyncio.Event()

    async def spawn(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        await self.spawn()
        self.generation += 1
        self.up.set()

    async def kill(self) -> None:
        assert self.proc is not None
        self.up.clear()
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        """A clean stop (SIGTERM, as operators do)."""
        assert self.proc is not None
        self.up.clear()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class SlackBot(Process):
    """`boussole run` with Slack in HTTP mode; the port changes at each start."""

    def __init__(self, log: Path, config: Path) -> None:
        super().__init__("slack", log)
        self.config = config
        self.url = ""

    async def spawn(self) -> None:
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-chaos", "SLACK_SIGNING_SECRET": SECRET}
        starts = self.tail(10**9).count("listening on port")
        with self.log.open("ab") as sink:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config), cwd=ROOT, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=sink)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.returncode is None:
            ports = re.findall(r"listening on port (\d+)", self.tail(10**9))
            if len(ports) > starts:
                self.url = f"http://127.0.0.1:{ports[-1]}/slack/events"
                return
            await asyncio.sleep(0.02)  # polling the log for the port, bounded
        raise RuntimeError(f"`boussole run` did not start listening:\n{self.tail()}")


class Console(Process):
    """`boussole console --json`; what it prints is read and counted, so that its pipe never fills."""

    def __init__(self, name: str, log: Path, config: Path) -> None:
        super().__init__(name, log)
        self.config = config
        self.reader: asyncio.Task[None] | None = None
        self.printed = 0

    async def spawn(self) -> None:
        with self.log.open("ab") as sink:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "console", "--json", "--config", str(self.config), cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=sink)
        self.reader = asyncio.create_task(self._drain(self.proc))

    async def _drain(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while await proc.stdout.readline():
            self.printed += 1

    async def write(self, line: str) -> bool:
        """Write one line to the running process; False when it is down (the line is written again later)."""
        proc = self.proc
        if proc is None or not self.up.is_set() or proc.stdin is None:
            return False
        try:
            proc.stdin.write((line + "\n").encode())
            await asyncio.wait_for(proc.stdin.drain(), 5)
        except (ConnectionError, BrokenPipeError, TimeoutError, RuntimeError):
            return False
        return True

    async def kill(self) -> None:
        await super().kill()
        if self.reader is not None:
            await self.reader

    async def stop(self) -> None:
        """End of input: the terminal delivers what is queued and exits."""
        assert self.proc is not None
        self.up.clear()
        if self.proc.stdin is not None:
            with contextlib.suppress(ConnectionError, BrokenPipeError):
                self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            await super().stop()
        if self.reader is not None:
            await self.reader


# -- the users -------------------------------------------------------------------------------------
@dataclass
class Line:
    """One message a user sends: "nouveau" (index 0) or an answer (index ≥ 1)."""

    index: int
    text: str
    event_id: str        # as the bot records it in processed_events
    sends: int = 0       # how many times it went out
    acked: bool = False  # Slack: HTTP 200; terminal: its id seen in processed_events


@dataclass
class User:
    name: str
    transport: str       # "slack" | "terminal"
    identity: str
    lines: list[Line] = field(default_factory=list)

    @property
    def in_flight(self) -> list[Line]:
        return [line for line in self.lines if line.sends and not line.acked]


class Clock:
    """The run's phases, shared by the users and the kill schedule."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.chaos_end = self.start + seconds
        self.stopping = asyncio.Event()  # no new message after this

    def elapsed(self) -> float:
        return time.monotonic() - self.start


def thinking(rng: random.Random, mean: float) -> float:
    """A person's pause before the next message: half the time none (several messages in a row)."""
    return rng.expovariate(1 / (2 * mean)) if mean and rng.random() < 0.5 else 0.0


async def pause(seconds: float, until: asyncio.Event) -> None:
    """A bounded wait that ends early when `until` is set (pacing, not synchronisation)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(until.wait(), max(0.0, seconds))


async def slack_user(user: User, bot: SlackBot, session: aiohttp.ClientSession, clock: Clock,
                     think: random.Random, mean_think: float) -> None:
    uid = user.identity.removeprefix("slack:")
    for line in user.lines:
        await pause(thinking(think, mean_think), clock.stopping)
        if clock.stopping.is_set():
            return
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                           "event_id": line.event_id.removeprefix("slack:event:"), "event_time": int(time.time()),
                           "event": {"type": "message", "channel_type": "im", "channel": f"D{uid}", "user": uid,
                                     "text": line.text, "ts": f"1710000000.{line.index:06d}"}})
        delay = 0.05
        while not line.acked:
            headers = {"Content-Type": "application/json", **sign(SECRET, body)}
            if line.sends:
                headers |= {"X-Slack-Retry-Num": str(line.sends), "X-Slack-Retry-Reason": "http_error"}
            line.sends += 1
            try:
                async with session.post(bot.url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    line.acked = response.status == 200
            except (aiohttp.ClientError, TimeoutError, OSError):
                pass
            if not line.acked:
                await asyncio.sleep(delay)  # Slack's back-off between retries, compressed
                delay = min(delay * 2, 0.5)


async def terminal_user(user: User, console: Console, reader: Reader, clock: Clock, think: random.Random,
                        mean_think: float, window: int, tick: asyncio.Condition) -> None:
    """Writes ahead up to `window` lines; after a restart, writes again what the killed process did not process."""
    generation = console.generation
    written = 0  # lines[:written] went out at least once
    while True:
        async with tick:
            await tick.wait()  # the poller read processed_events again
        if console.generation != generation and console.up.is_set():
            generation = console.generation
            pending = user.in_flight
            done = await reader.processed([line.event_id for line in pending])
            for line in pending:
                if line.event_id in done:
                    line.acked = True
                elif await console.write(json.dumps({"as": user.name, "text": line.text, "id": line.event_id},
                                                    ensure_ascii=False)):
                    line.sends += 1
                else:
                    break  # down again: the next start writes them all again, still in order
        stopping = clock.stopping.is_set()
        if written == len(user.lines) or stopping:
            if not user.in_flight:
                return
            continue
        if len(user.in_flight) >= window or console.generation != generation or not console.up.is_set():
            continue
        line = user.lines[written]
        if await console.write(json.dumps({"as": user.name, "text": line.text, "id": line.event_id},
                                          ensure_ascii=False)):
            line.sends += 1
            written += 1
            await pause(thinking(think, mean_think), clock.stopping)


async def poll_processed(users: list[User], reader: Reader, tick: asyncio.Condition, done: asyncio.Event) -> None:
    """Mark the terminal lines the database says were processed, then wake the terminal users."""
    while not done.is_set():
        pending = [line for user in users for line in user.in_flight]
        found = await reader.processed([line.event_id for line in pending]) if pending else set()
        for line in pending:
            line.acked = line.acked or line.event_id in found
        async with tick:
            tick.notify_all()
        await pause(0.03, done)


# -- the run ----------------------------------------------------------------------------------------
def write_config(path: Path, db: Path, api_url: str) -> None:
    path.write_text(f"""
[storage]
path = "{db}"
[roles.numerique-responsable]
label = "Numérique responsable"
members = ["slack:UNR", "console:nr"]
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
messages_per_second = 1000
""", encoding="utf-8")


@dataclass(frozen=True)
class Reference:
    """The same interview in a database of its own, without chaos: what each message commits."""

    answers: list[tuple[str, str]]  # (question, stored answer) for each scripted answer, in order
    replies: list[int]              # replies committed to the user after messages[:n + 1]


async def reference_run(config_path: Path, script: list[str]) -> Reference:
    config = load_config(config_path)
    replies = []
    async with Database(":memory:") as db:
        app = Boussole(config=config, questionnaire=load_questionnaire(config.questionnaire), db=db)
        for n, text in enumerate(["nouveau", *script]):
            await app.handle(Incoming(f"reference:{n}", "console:reference", text))
            async with db.reading() as tx:
                replies.append(len(await tx.undelivered("console", 100_000)))
        async with db.reading() as tx:
            rows = await tx.answer_history(1)  # the only assessment of this database
    history = [(row["question_id"], row["answer"]) for row in rows]
    if len(history) != len(script):
        raise RuntimeError(f"the clean interview stored {len(history)} answers for {len(script)} typed")
    return Reference(history, replies)


def make_users(settings: Settings, script: list[str]) -> list[User]:
    texts = ["nouveau", *script]
    users = []
    for n in range(settings.users):
        name = f"chaos{n:02d}"
        users.append(User(name, "terminal", f"console:{name}",
                          [Line(i, t, f"chaos:{name}:{i}") for i, t in enumerate(texts)]))
    for n in range(settings.users):
        uid = f"UCHAOS{n:02d}"
        users.append(User(uid, "slack", f"slack:{uid}",
                          [Line(i, t, f"slack:event:Ev{uid}x{i:03d}") for i, t in enumerate(texts)]))
    return users


async def kill_schedule(processes: list[Process], rng: random.Random, settings: Settings, clock: Clock,
                        everyone_done: asyncio.Event) -> list[tuple[float, str]]:
    """Kill one process at a time, at random moments, and start it again; every process once per round."""
    kills: list[tuple[float, str]] = []
    order: list[Process] = []
    while len(kills) < settings.kills:
        await pause(rng.uniform(*settings.gap_s), everyone_done)
        if everyone_done.is_set() or time.monotonic() >= clock.chaos_end:
            break
        if not order:
            order = rng.sample(processes, len(processes))
        victim = order.pop()
        await victim.kill()
        kills.append((clock.elapsed(), victim.name))
        await asyncio.sleep(rng.uniform(*settings.down_s))  # down for a while; the clients keep trying
        await victim.start()
    return kills


async def run(settings: Settings) -> dict[str, Any]:
    started = time.monotonic()
    seed = settings.seed or random.SystemRandom().randrange(1, 10**6)
    script = script_for_clean_interview()
    if settings.answers:
        script = script[:settings.answers]
    users = make_users(settings, script)
    print(f"Chaos: {settings.users} terminal + {settings.users} Slack users, {len(script)} answers each; "
          f"{settings.consoles} `boussole console --json` + 1 `boussole run` (Slack HTTP) on one database; "
          f"seed {seed}")
    workdir = Path(tempfile.mkdtemp(prefix="boussole-chaos-"))
    api = FakeSlackAPI()
    api_url = await api.start()
    config = workdir / "boussole.toml"
    db_path = workdir / "chaos.sqlite3"
    write_config(config, db_path, api_url)
    reference = await reference_run(config, script)
    slack = SlackBot(workdir / "slack.log", config)
    consoles = [Console(f"console-{n}", workdir / f"console-{n}.log", config) for n in range(settings.consoles)]
    processes: list[Process] = [slack, *consoles]
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT_S))
    try:
        kills, chaos_s, drained = await chaos(settings, seed, users, slack, consoles, db_path, session)
    finally:
        for process in processes:  # after a failure, nothing keeps running
            if process.proc is not None and process.proc.returncode is None:
                process.proc.kill()
                await process.proc.wait()
        await session.close()
        await api.stop()
    figures = count(db_path, users, reference)
    figures["log"] = logged(processes)
    figures |= {"seed": seed, "kills": len(kills), "killed": [name for _, name in kills], "chaos_s": chaos_s,
                "drained": drained, "audit": await verify_audit(config)}
    figures["total_s"] = time.monotonic() - started
    figures["ok"] = figures["ok"] and "intact" in figures["audit"]
    report(figures, kills)
    if figures["ok"]:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"  database and logs kept in {workdir}")
    return figures


async def chaos(settings: Settings, seed: int, users: list[User], slack: SlackBot, consoles: list[Console],
                db_path: Path, session: aiohttp.ClientSession) -> tuple[list[tuple[float, str]], float, bool]:
    """The users answer while processes are killed; then a clean restart drains the inboxes. Returns the kills,
    the length of the chaos phase and whether everything was drained."""
    processes: list[Process] = [slack, *consoles]
    rng = random.Random(seed)
    await slack.start()  # first: it creates the database
    for console in consoles:
        await console.start()
    clock = Clock(settings.seconds)
    reader = Reader(db_path)
    tick = asyncio.Condition()
    polling_done = asyncio.Event()
    poller = asyncio.create_task(poll_processed([u for u in users if u.transport == "terminal"], reader, tick,
                                                polling_done))
    mean_think = settings.think_s or 0.6 * settings.seconds / len(users[0].lines)
    tasks = []
    for n, user in enumerate(users):
        think = random.Random(seed * 1000 + n)
        if user.transport == "slack":
            tasks.append(asyncio.create_task(slack_user(user, slack, session, clock, think, mean_think)))
        else:
            tasks.append(asyncio.create_task(terminal_user(user, consoles[n % len(consoles)], reader, clock, think,
                                                           mean_think, settings.window, tick)))
    everyone_done = asyncio.Event()
    watcher = asyncio.create_task(_set_when_done(tasks, everyone_done))
    try:
        kills = await kill_schedule(processes, rng, settings, clock, everyone_done)
        # Without kills until the end of the phase (or until everyone is done), then no new message.
        await pause(clock.chaos_end - time.monotonic(), everyone_done)
        clock.stopping.set()
        chaos_s = clock.elapsed()
        # The final clean restart: the inbox is processed, the terminal users write again what was not processed.
        await asyncio.gather(*(process.stop() for process in processes))
        await asyncio.gather(*(process.start() for process in processes))
        drained = await _drain(tasks, reader, settings.drain_seconds)
        await asyncio.gather(*(process.stop() for process in processes))
    finally:
        polling_done.set()
        for task in [*tasks, watcher, poller]:
            task.cancel()
        await asyncio.gather(*tasks, watcher, poller, return_exceptions=True)
        reader.close()
    return kills, chaos_s, drained


async def _set_when_done(tasks: list[asyncio.Task[None]], event: asyncio.Event) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)
    event.set()


async def _drain(tasks: list[asyncio.Task[None]], reader: Reader, seconds: float) -> bool:
    """Wait (bounded) until every user's last message is acknowledged and the inbox holds nothing unprocessed."""
    deadline = time.monotonic() + seconds
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    while time.monotonic() < deadline:
        waiting = (await reader.rows("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL"))[0][0]
        if not waiting:
            return not pending
        await asyncio.sleep(0.05)  # polling the inbox, bounded
    return False


async def verify_audit(config: Path) -> str:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "audit", "verify", "--config",
                                                str(config), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return out.decode(errors="replace").strip()


def logged(processes: list[Process]) -> dict[str, list[str]]:
    """The warnings and errors the bot's processes logged, by level (the message, without its time)."""
    found: dict[str, list[str]] = {"WARNING": [], "ERROR": []}
    for process in processes:
        for line in process.tail(10**9).splitlines():
            if match := re.match(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) (.*)$", line):
                found["WARNING" if match.group(1) == "WARNING" else "ERROR"].append(f"{process.name}: {match.group(2)}")
    return found


FIGURES = ["sent", "committed", "duplicated", "lost", "misplaced", "extra_replies", "missing_replies",
           "unacknowledged", "resent", "interviews", "interviews_expected", "errors"]


def count(db_path: Path, users: list[User], reference: Reference) -> dict[str, Any]:
    """Compare what the clients were told with what the database holds, per transport."""
    with contextlib.closing(read_only(db_path)) as raw:
        rows = raw.execute("SELECT a.requester, w.question_id, w.answer FROM answers w "
                           "JOIN assessments a ON a.id = w.assessment_id ORDER BY w.id").fetchall()
        created = Counter(r[0] for r in raw.execute("SELECT requester FROM assessments"))
        processed = {r[0] for r in raw.execute("SELECT event_id FROM processed_events")}
        outbox = raw.execute("SELECT recipient, payload FROM outbox").fetchall()
    expected = dict(reference.answers)
    by_user: dict[str, Counter[str]] = {}
    misplaced: Counter[str] = Counter()
    for requester, question, answer in rows:
        by_user.setdefault(requester, Counter())[question] += 1
        if expected.get(question) != answer:
            misplaced[requester] += 1
    replies = Counter(recipient for recipient, _ in outbox)
    errors = Counter(recipient for recipient, payload in outbox if json.loads(payload).get("kind") == "error")
    figures: dict[str, Any] = {}
    for transport in ("terminal", "slack"):
        t = Counter({key: 0 for key in FIGURES})
        for user in (u for u in users if u.transport == transport):
            committed = by_user.get(user.identity, Counter())
            if user.transport == "terminal":  # a terminal's acknowledgement is its line processed
                for line in user.lines:
                    line.acked = line.event_id in processed
            answers = user.lines[1:]
            acked = {reference.answers[line.index - 1][0] for line in answers if line.acked}
            maybe = {reference.answers[line.index - 1][0] for line in answers if line.sends and not line.acked}
            t["sent"] += len(acked)
            t["committed"] += sum(committed.values())
            t["lost"] += sum(1 for question in acked if not committed[question])
            t["duplicated"] += sum(max(0, n - (question in acked) - (question in maybe))
                                   for question, n in committed.items())
            t["misplaced"] += misplaced[user.identity]
            # Messages are acknowledged in order: the replies of a clean run of as many messages, give or take
            # those sent but never acknowledged (they may have been recorded).
            told = sum(1 for line in user.lines if line.acked)
            unsure = sum(1 for line in user.lines if line.sends and not line.acked)
            low = reference.replies[told - 1] if told else 0
            high = reference.replies[told + unsure - 1] if told + unsure else 0
            t["extra_replies"] += max(0, replies[user.identity] - high)
            t["missing_replies"] += max(0, low - replies[user.identity])
            t["unacknowledged"] += unsure
            t["resent"] += sum(max(0, line.sends - 1) for line in user.lines)
            t["interviews"] += created[user.identity]
            t["interviews_expected"] += 1 if user.lines[0].acked else 0
            t["errors"] += errors[user.identity]
        figures[transport] = dict(t)
    total = figures["total"] = {key: figures["terminal"][key] + figures["slack"][key] for key in FIGURES}
    figures["ok"] = (total["lost"] == total["duplicated"] == total["misplaced"] == total["errors"]
                     == total["extra_replies"] == total["missing_replies"] == total["unacknowledged"] == 0
                     and total["interviews"] == total["interviews_expected"])
    return figures


COLUMNS = {"sent": "sent", "committed": "committed", "duplicated": "duplicated", "lost": "lost",
           "misplaced": "misplaced", "extra_replies": "replies +", "missing_replies": "replies -", "resent": "resent"}


def report(figures: dict[str, Any], kills: list[tuple[float, str]]) -> None:
    by_victim = Counter(name for _, name in kills)
    print(f"  kills: {len(kills)} ({', '.join(f'{name} {n}' for name, n in sorted(by_victim.items()))}); "
          f"chaos phase {figures['chaos_s']:.1f} s, total {figures['total_s']:.1f} s")
    if kills:
        print("  killed at: " + ", ".join(f"{at:.1f} s {name}" for at, name in kills))
    print(f"  {'answers':<10}" + "".join(f"{label:>11}" for label in COLUMNS.values()))
    for transport in ("terminal", "slack", "total"):
        row = figures[transport]
        print(f"  {transport:<10}" + "".join(f"{row[key]:>11}" for key in COLUMNS))
    total = figures["total"]
    print("  sent: acknowledged (Slack: HTTP 200; terminal: its id in processed_events); committed: rows in `answers`;")
    print("  duplicated: rows beyond the acknowledged events of their question; lost: acknowledged, no row;")
    print("  misplaced: rows whose value is not the one typed for that question (a message processed twice or")
    print("  lost shifts the next answers); replies +/-: replies committed beyond / short of what a clean run of")
    print("  the same acknowledged messages commits (a step committed twice / lost); resent: retried sends")
    print(f"  interviews {total['interviews']} of {total['interviews_expected']} expected; "
          f"error replies {total['errors']}; sent but never acknowledged {total['unacknowledged']}; "
          f"inboxes drained: {'yes' if figures['drained'] else 'NO'}; {figures['audit']}")
    log = figures["log"]
    print(f"  logged by the bot's processes: {len(log['ERROR'])} error(s), {len(log['WARNING'])} warning(s)")
    for level, lines in log.items():
        for text, n in Counter(re.sub(r"\d+", "N", line) for line in lines).most_common(4):
            print(f"    {level.lower()} {n}×: {text[:150]}")
    if figures["ok"]:
        print("  OK: every acknowledged answer committed exactly once: 0 lost, 0 duplicated")
    else:
        print(f"  PROBLEM: {total['lost']} lost, {total['duplicated']} duplicated, {total['misplaced']} misplaced, "
              f"replies +{total['extra_replies']}/-{total['missing_replies']}, {total['errors']} error replies, "
              f"{total['unacknowledged']} never acknowledged")


async def main(settings: Settings | None = None) -> dict[str, Any]:
    return await run(settings or Settings.from_env())


HELP = {"seed": "the kill schedule's and the users' random seed; 0: a fresh one, printed",
        "seconds": "length of the chaos phase", "drain_seconds": "longest wait for the final drain",
        "users": "users per transport", "kills": "most kills", "consoles": "`boussole console --json` processes",
        "answers": "answers per interview; 0: all", "window": "terminal lines written ahead of the processed ones",
        "think_s": "a user's mean pause between messages; 0: spread over 60%% of the phase"}


def _arguments(argv: list[str]) -> Settings:
    defaults = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    for f in fields(Settings):
        if f.name in ("gap_s", "down_s"):
            continue
        value = getattr(defaults, f.name)
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(value), default=value,
                            help=f"{HELP[f.name]} (default {value})")
    return Settings(**vars(parser.parse_args(argv)))


if __name__ == "__main__":
    asyncio.run(main(_arguments(sys.argv[1:])))
