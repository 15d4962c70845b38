"""What every group of queries stands on: the open connection of one transaction, and three calls.

Each concern (interviews, reviews, notices, outbox, audit, transport state) is a class of named
methods over these calls; `bot.storage.database.Tx` puts them together for one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiosqlite


class Queries:
    """Plain parameterised statements on the connection of the transaction in progress."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        cursor = await self.conn.execute(sql, tuple(params))
        return cursor.rowcount

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            await self.conn.executemany(sql, rows)


def marks(values: Iterable[Any]) -> str:
    """`?, ?, ?`: one placeholder per value, for an `IN (…)` list."""
    return ", ".join("?" for _ in values)
