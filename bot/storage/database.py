"""The database: one aiosqlite connection, its migrations, and transactions.

Every step runs in one `BEGIN IMMEDIATE` transaction (`Database.transaction()`) that commits
its state, answers, findings, audit records and outgoing replies together, or nothing. A
`Tx` offers every query by name; no SQL lives outside this package.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from bot.storage.absences import AbsenceQueries
from bot.storage.audit import AuditQueries
from bot.storage.dashboard import DashboardQueries
from bot.storage.inbox import InboxQueries
from bot.storage.interviews import InterviewQueries
from bot.storage.notices import NoticeQueries
from bot.storage.outbox import OutboxQueries
from bot.storage.questions import QuestionQueries
from bot.storage.reviews import ReviewQueries
from bot.storage.schema import MIGRATIONS, statements
from bot.storage.transport import TransportQueries

logger = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 10_000  # how long a statement waits for another process's write lock


class StorageError(Exception):
    """The database cannot be used as it is (unreadable, not a database, read-only, too new)."""


class DatabaseUnavailable(StorageError):
    """The database could not do it now (locked by another process beyond the busy timeout, disk full or
    failing, read-only): nothing was written, and the same work may succeed later."""


# SQLite's primary result codes that say "not now" rather than "never": a retry may succeed.
_TRANSIENT_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
                    sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL}


def _primary_code(error: BaseException) -> int:
    return int(getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF if isinstance(error, sqlite3.Error) else 0


def is_transient(error: BaseException) -> bool:
    return _primary_code(error) in _TRANSIENT_CODES


def _as_storage_error(path: Path, error: BaseException) -> StorageError | None:
    """The storage error to raise instead of a SQLite error that says the file cannot be used (or not now)."""
    if is_transient(error):
        return DatabaseUnavailable(f"{path}: {error}")
    if _primary_code(error) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StorageError(f"{path}: the database file is damaged ({error}): restore it from a backup")
    return None


class Tx(InterviewQueries, ReviewQueries, NoticeQueries, OutboxQueries, AuditQueries, TransportQueries,
         InboxQueries, DashboardQueries, AbsenceQueries, QuestionQueries):
    """Every query, on the connection of one transaction."""


class Database:
    """One aiosqlite connection; transactions serialised in-process by a lock, across processes by SQLite."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError("the database is not open: call open() first")
        return self._conn

    async def open(self) -> Database:
        """Connect, set the pragmas and migrate; a StorageError names the file and what is wrong with it."""
        in_memory = str(self.path) == ":memory:"
        if not in_memory:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StorageError(f"{self.path}: its folder cannot be created ({error.strerror or error})") from error
        try:
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            self._conn.row_factory = aiosqlite.Row
            await self._conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await self._conn.execute("PRAGMA journal_mode = WAL")
            await self._conn.execute("PRAGMA foreign_keys = ON")
            await self._conn.execute("PRAGMA synchronous = FULL")
            await self.migrate()
        except sqlite3.Error as error:
            await self.close()
            raise StorageError(f"{self.path}: not a usable SQLite database ({error})") from error
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        rows = await self.conn.execute_fetchall("PRAGMA user_version")
        return int(next(iter(rows))[0])

    async def migrate(self, target: int | None = None) -> int:
        """Apply the numbered migrations not yet applied, each in its own transaction."""
        target = len(MIGRATIONS) if target is None else target
        current = await self.schema_version()
        if current > len(MIGRATIONS):
            raise StorageError(f"{self.path}: schema version {current} is newer than this Boussole "
                               f"({len(MIGRATIONS)}): upgrade Boussole")
        async with self._lock:
            for number in range(current + 1, target + 1):
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    # Read again under the write lock: another process may have migrated meanwhile.
                    if await self.schema_version() >= number:
                        await self.conn.execute("ROLLBACK")
                        continue
                    for statement in statements(MIGRATIONS[number - 1]):
                        await self.conn.execute(statement)
                    await self.conn.execute(f"PRAGMA user_version = {number}")
                    await self.conn.execute("COMMIT")
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                logger.info("database %s migrated to schema version %d", self.path, number)
        return await self.schema_version()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises or is cancelled.
        Raises DatabaseUnavailable when the database could not do it now (locked, full, read-only)."""
        async with self._lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                yield Tx(self.conn)
                await self.conn.execute("COMMIT")
            except BaseException as error:
                await self._end_quietly("ROLLBACK")
                if (instead := _as_storage_error(self.path, error)) is not None:
                    raise instead from error
                raise

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[Tx]:
        """Consistent reads (one snapshot), kept apart from a write transaction of this connection."""
        async with self._lock:
            try:
                await self.conn.execute("BEGIN")
                yield Tx(self.conn)
            except BaseException as error:
                if (instead := _as_storage_error(self.path, error)) is not None:
                    raise instead from error
                raise
            finally:
                await self._end_quietly("COMMIT")

    async def _end_quietly(self, statement: str) -> None:
        """End whatever transaction is open, and only then let the lock go, even if cancelled meanwhile.

        A task cancelled while its BEGIN was on its way to the database thread cannot know whether the BEGIN
        ran: a first statement waits for it (the thread runs them in order), then the connection tells whether
        a transaction is open. Cancelled again during that, the cleanup still finishes before the lock goes:
        another task's BEGIN must never find this transaction open."""
        cleanup = asyncio.ensure_future(self._end(statement))
        cancelled = False
        while not cleanup.done():
            try:
                await asyncio.shield(cleanup)
            except asyncio.CancelledError:
                cancelled = True
        cleanup.result()
        if cancelled:
            raise asyncio.CancelledError

    async def _end(self, statement: str) -> None:
        await self.conn.execute("SELECT 1")
        if self.conn.in_transaction:
            await self.conn.execute(statement)

    async def data_version(self) -> int:
        """Changes whenever another connection (another process) commits to the database."""
        async with self._lock:
            rows = await self.conn.execute_fetchall("PRAGMA data_version")
        return int(next(iter(rows))[0])
