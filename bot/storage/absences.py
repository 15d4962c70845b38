"""Absences: a person away from one date to another, with the delegate who decides in their roles meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries


@dataclass(frozen=True)
class Absence:
    """Away from `starts_on` to `ends_on` (local dates, both included), unless ended early (`ended_at`)."""

    id: int
    user: str
    starts_on: str
    ends_on: str
    delegate: str | None
    created_at: str
    ended_at: str | None

    @classmethod
    def from_row(cls, row: Any) -> Absence:
        return cls(int(row["id"]), row["user"], row["starts_on"], row["ends_on"], row["delegate"], row["created_at"],
                   row["ended_at"])

    def covers(self, day: str) -> bool:
        """Whether the person is away on this local date (YYYY-MM-DD)."""
        return self.ended_at is None and self.starts_on <= day <= self.ends_on


_COLUMNS = "id, user, starts_on, ends_on, delegate, created_at, ended_at"


class AbsenceQueries(Queries):
    """Absences declared with `absent du … au …`, ended by their last day or by `présent`."""

    async def add_absence(self, *, user: str, starts_on: str, ends_on: str, delegate: str | None,
                          now: str) -> int:
        cursor = await self.conn.execute(
            "INSERT INTO absences(user, starts_on, ends_on, delegate, created_at) VALUES (?, ?, ?, ?, ?)",
            (user, starts_on, ends_on, delegate, now))
        return int(cursor.lastrowid or 0)

    async def end_absences(self, user: str, *, from_day: str, now: str) -> list[Absence]:
        """End a person's absences that are not over by `from_day`; the absences ended."""
        rows = await self.fetchall(f"SELECT {_COLUMNS} FROM absences WHERE user = ? AND ended_at IS NULL "
                                   "AND ends_on >= ? ORDER BY starts_on", (user, from_day))
        await self.execute("UPDATE absences SET ended_at = ? WHERE user = ? AND ended_at IS NULL AND ends_on >= ?",
                           (now, user, from_day))
        return [Absence.from_row(r) for r in rows]

    async def absences_on(self, day: str) -> list[Absence]:
        """Everyone away on this local date."""
        rows = await self.fetchall(f"SELECT {_COLUMNS} FROM absences WHERE ended_at IS NULL AND starts_on <= ? "
                                   "AND ends_on >= ? ORDER BY user, starts_on", (day, day))
        return [Absence.from_row(r) for r in rows]

    async def absences_of(self, user: str, *, from_day: str) -> list[Absence]:
        """A person's absences, current and to come (the dashboard's "my absences")."""
        rows = await self.fetchall(f"SELECT {_COLUMNS} FROM absences WHERE user = ? AND ended_at IS NULL "
                                   "AND ends_on >= ? ORDER BY starts_on", (user, from_day))
        return [Absence.from_row(r) for r in rows]

    async def delegations_to(self, delegate: str, *, from_day: str) -> list[Absence]:
        """The absences, current and to come, in which this person stands in for someone."""
        rows = await self.fetchall(f"SELECT {_COLUMNS} FROM absences WHERE delegate = ? AND ended_at IS NULL "
                                   "AND ends_on >= ? ORDER BY starts_on", (delegate, from_day))
        return [Absence.from_row(r) for r in rows]
