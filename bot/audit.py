"""The audit trail's integrity: verify the hash chain, export the records as JSON lines.

Every record carries the hash of the one before it; changing, inserting or deleting a record
breaks the chain at that point, and `verify` names the first record where it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from bot.storage import GENESIS_HASH, AuditRow, Database, audit_hash, detail_json


@dataclass(frozen=True)
class ChainCheck:
    records: int
    first_broken: int | None   # id of the first record that does not match the chain
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken is None


def check_chain(rows: list[AuditRow]) -> ChainCheck:
    previous = GENESIS_HASH
    for row in rows:
        if row.prev_hash != previous:
            return ChainCheck(len(rows), row.id, "its link to the previous record does not match "
                                                 "(a record before it was changed, inserted or deleted)")
        if audit_hash(row.prev_hash, row.at, row.actor, row.action, row.assessment_id,
                      detail_json(row.detail)) != row.hash:
            return ChainCheck(len(rows), row.id, "its content does not match its hash (the record was changed)")
        previous = row.hash
    return ChainCheck(len(rows), None)


async def verify(db: Database) -> ChainCheck:
    async with db.reading() as tx:
        rows = await tx.audit_trail()
    return check_chain(rows)


async def export_jsonl(db: Database, assessment_id: int | None = None) -> Iterator[str]:
    async with db.reading() as tx:
        rows = await tx.audit_trail(assessment_id)
    return (json.dumps({"id": r.id, "at": r.at, "actor": r.actor, "action": r.action,
                        "assessment": r.assessment_id, "detail": r.detail, "prev_hash": r.prev_hash,
                        "hash": r.hash}, ensure_ascii=False) for r in rows)
