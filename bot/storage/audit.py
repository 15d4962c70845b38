"""The audit trail's rows: append-only (triggers refuse updates and deletes) and hash-chained,
each record's hash covering the previous record's hash and its own content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries

GENESIS_HASH = "0" * 64


def audit_hash(prev_hash: str, at: str, actor: str, action: str, assessment_id: int | None, detail: str) -> str:
    material = json.dumps([prev_hash, at, actor, action, assessment_id, detail], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def detail_json(detail: Mapping[str, Any]) -> str:
    """The one text form of a record's detail: what its hash covers."""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: str
    actor: str
    action: str
    assessment_id: int | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Any) -> AuditRow:
        return cls(row["id"], row["at"], row["actor"], row["action"], row["assessment_id"],
                   json.loads(row["detail"]), row["prev_hash"], row["hash"])


AuditEntry = tuple[str, str, int | None, Mapping[str, Any]]  # actor, action, assessment, detail


class AuditQueries(Queries):
    """Appending to the trail and reading it back."""

    async def audit(self, *, actor: str, action: str, assessment_id: int | None,
                    detail: Mapping[str, Any], now: str) -> None:
        await self.audit_many([(actor, action, assessment_id, detail)], now)

    async def audit_many(self, entries: list[AuditEntry], now: str) -> None:
        """Append records to the chain, in order."""
        if not entries:
            return
        last = await self.fetchone("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
        previous = last["hash"] if last else GENESIS_HASH
        rows = []
        for actor, action, assessment_id, detail in entries:
            text = detail_json(detail)
            digest = audit_hash(previous, now, actor, action, assessment_id, text)
            rows.append((now, actor, action, assessment_id, text, previous, digest))
            previous = digest
        await self.executemany("INSERT INTO audit(at, actor, action, assessment_id, detail, prev_hash, hash) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    async def audit_trail(self, assessment_id: int | None = None) -> list[AuditRow]:
        if assessment_id is None:
            rows = await self.fetchall("SELECT * FROM audit ORDER BY id")
        else:
            rows = await self.fetchall("SELECT * FROM audit WHERE assessment_id = ? ORDER BY id", (assessment_id,))
        return [AuditRow.from_row(r) for r in rows]
