"""The terminal adapter: an interactive console, or a JSON line protocol for scripts and tests.

Identities are `console:NAME`; `/as NAME` switches who is typing, so one person can play
requester, reviewer and manager: their language goes with them (`langue en`, then `/as dpo`:
the DPO is answered in English too). With `--json`, a plain input line is text from the
current user and `{"as": NAME, "text": "…"}` is text from NAME (an optional "id" gives the
event id, to replay a delivery); each reply is printed as one JSON object per line. A text
that starts with "/" is a command even while a free-text answer is awaited ("/rapport 3").
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import uuid
from typing import Any, TextIO

from bot.app import Boussole
from bot.i18n import Rendered, Translator, show_people
from bot.storage import DatabaseUnavailable, OutboxRow
from conversations.commands import COMMANDS
from conversations.model import Incoming

PREFIX = "console:"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
MAX_NAME = 64


def valid_name(name: str) -> bool:
    """A terminal identity: `console:` optional, then 1 to MAX_NAME plain characters (no space, no control)."""
    bare = name.removeprefix(PREFIX)
    return 0 < len(bare) <= MAX_NAME and set(bare) <= NAME_CHARS


def identity(name: str) -> str:
    return name if name.startswith(PREFIX) else PREFIX + name


def visible(text: str) -> str:
    """Control characters as the Unicode symbols that picture them (ESC as ␛): a terminal shows, never obeys."""
    return "".join(chr(0x2400 + ord(c)) if ord(c) < 0x20 and c not in "\n\t" else ("␡" if c == "\x7f" else c)
                   for c in text)


def json_line(rendered: Rendered) -> str:
    """The JSON protocol's view of a reply."""
    question = None
    if rendered.question is not None:
        q = rendered.question
        question = {"id": q["id"], "criterion": q["criterion"], "type": q["type"], "choices": q["choices"]}
    payload: dict[str, Any] = {
        "to": rendered.to.removeprefix(PREFIX), "kind": rendered.kind, "text": show_people(rendered.text),
        "assessment": rendered.assessment, "question": question,
    }
    return json.dumps(payload, ensure_ascii=False)


def human_text(rendered: Rendered, current: str, locale: str = "fr") -> str:
    """The interactive view: messages to someone else are shown as mail for them, in the words of `locale` (the
    language of who is typing); control characters shown as visible symbols, never sent raw to the terminal.
    A picture's alt text follows its path, the last line."""
    alt = (rendered.attachment or {}).get("alt")
    text = visible(show_people(rendered.text) + (f"\n  ({alt})" if alt else ""))
    body = text
    if rendered.kind == "question" and rendered.question is not None:
        body = f"\n{text}"
    if rendered.to != current:
        t = Translator(locale)
        who = rendered.to.removeprefix(PREFIX)
        indented = "\n".join("  │ " + line for line in text.splitlines())
        return f"\n  ┌─ {t('console.mail_for', name=who)}\n{indented}\n  └─ {t('console.answer_as', name=who)}"
    return body


def _incoming(event_id: str, user: str, text: str) -> Incoming:
    """A leading "/" sends a command even while a free-text answer waits ("/rapport 3")."""
    stripped = text.strip()
    if stripped.startswith("/"):
        return Incoming(event_id, user, stripped[1:].strip() or "aide", explicit=True)
    return Incoming(event_id, user, text)


class ConsoleAdapter:
    def __init__(self, app: Boussole, *, user: str, json_mode: bool = False,
                 stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.app = app
        self.user = identity(user)
        self.json_mode = json_mode
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = not json_mode and self.stdin.isatty()
        if isinstance(self.stdin, io.TextIOWrapper):  # bytes that are not UTF-8 become U+FFFD, never an exit
            self.stdin.reconfigure(errors="replace")

    async def send(self, row: OutboxRow, rendered: Rendered) -> None:
        if self.json_mode:
            text = json_line(rendered)
        else:
            locale = "fr" if rendered.to == self.user else await self.app.user_locale(self.user)
            text = human_text(rendered, self.user, locale)
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def flush(self) -> None:
        await self.app.deliver("console", self.send)

    def _read(self, prompt: str) -> str | None:
        try:
            if self.interactive:
                return input(prompt)
            line = self.stdin.readline()
            return line.rstrip("\n") if line else None
        except EOFError:
            return None

    def _event(self, line: str) -> Incoming | None:
        if self.json_mode and line.lstrip().startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                self._notice({"error": f"invalid JSON: {exc}"})
                return None
            name, text = data.get("as"), data.get("text")
            if not isinstance(text, str) or (name is not None and not isinstance(name, str)):
                self._notice({"error": "expected {\"as\": NAME, \"text\": \"…\"}"})
                return None
            if name and not valid_name(name):   # the same names as `/as` accepts
                self._notice({"error": f"\"as\": a name of 1 to {MAX_NAME} letters, digits, '_', '.' or '-'"})
                return None
            user = identity(name) if name else self.user
            given = data.get("id")
            if given is not None and (isinstance(given, bool) or not isinstance(given, str | int)):
                self._notice({"error": "\"id\" is a text or a whole number"})
                return None
            # An id is the sender's: the same id twice is one event, processed once (0 included).
            return _incoming(f"console:{uuid.uuid4()}" if given is None else str(given), user, text)
        return _incoming(f"console:{uuid.uuid4()}", self.user, line)

    async def _words(self, key: str, **params: Any) -> str:
        """One of the terminal's own messages, in the language of who is typing."""
        return Translator(await self.app.user_locale(self.user))(key, **params)

    def _unavailable(self, error: DatabaseUnavailable) -> str:
        """Said when the database does not answer: in the configured language, the user's being unreadable."""
        return Translator(self.app.config.locale)("console.database_down", error=error)

    def _notice(self, payload: dict[str, Any]) -> None:
        self.stdout.write((json.dumps(payload, ensure_ascii=False) if self.json_mode else
                           str(next(iter(payload.values())))) + "\n")
        self.stdout.flush()

    async def _switch(self, line: str) -> bool:
        """Handle the adapter's own `/as NAME` and `/quit`; True when the line was one."""
        parts = line.strip().split()
        if not parts or parts[0] not in ("/as", "/quit", "/exit"):
            return False
        if parts[0] in ("/quit", "/exit"):
            raise EOFError
        if len(parts) == 2 and valid_name(parts[1]):
            previous, self.user = self.user, identity(parts[1])
            await self._carry_language(previous)
            if not self.json_mode:
                self._notice({"info": await self._words("console.switched", name=self.user.removeprefix(PREFIX))})
        else:
            self._notice({"error": await self._words("console.bad_name")})
        return True

    async def _carry_language(self, previous: str) -> None:
        """One person plays every identity at this terminal: the identity they switch to speaks their language.
        Said to the bot as that identity's own `language` command, so it is kept like any choice of language."""
        spoken = await self.app.user_locale(previous)
        if previous == self.user or await self.app.user_locale(self.user) == spoken:
            return
        word = COMMANDS["language"].word(spoken)
        await self.app.handle(Incoming(f"console:{uuid.uuid4()}", self.user, f"{word} {spoken}", explicit=True))

    async def run(self) -> None:
        """Read lines until EOF, processing each and delivering what it produced."""
        if self.interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing for input())
            self._notice({"info": await self._words("console.welcome")})
        await self.flush()
        background = asyncio.create_task(self._deliver_in_background())
        try:
            await self._read_loop()
        finally:
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background
        await self.flush()

    async def _deliver_in_background(self) -> None:
        """Show what the scheduler (or another process) queued, without waiting for a keystroke."""
        while True:
            await self.app.wait_for_outbox()
            await self.flush()

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            prompt = f"{self.user.removeprefix(PREFIX)}> "
            line = await loop.run_in_executor(None, self._read, prompt)
            if line is None:
                break
            if not line.strip():
                continue
            try:
                if await self._switch(line):
                    await self.flush()
                    continue
            except EOFError:
                break
            except DatabaseUnavailable as error:
                self._notice({"error": self._unavailable(error)})
                continue
            event = self._event(line)
            if event is not None:
                try:
                    await self.app.handle(event)
                except DatabaseUnavailable as error:
                    self._notice({"error": self._unavailable(error)})
            await self.flush()
