"""Storage on SQLite: the one source of truth, and the only place with SQL.

`Database` opens the file and runs transactions; `Tx` offers every query by name, grouped by
concern in the modules beside this one (schema, interviews, reviews, notices, outbox, audit,
transport state, inbox, absences, questions to requesters).
"""

from bot.storage.absences import Absence
from bot.storage.audit import GENESIS_HASH, AuditHead, AuditRow, RecordedStatus, audit_hash, detail_json
from bot.storage.database import Database, DatabaseUnavailable, StorageError, Tx, is_transient
from bot.storage.inbox import InboxRow
from bot.storage.interviews import AssessmentRow, UserState
from bot.storage.notices import APPROVED, AssessmentLine, NoticeClaim
from bot.storage.outbox import OutboxRow, PostedPart, transport_of
from bot.storage.questions import ReviewQuestion
from bot.storage.reviews import Assignment, ReviewRow, VoteRow, WaitingReview
from bot.storage.schema import MIGRATIONS
from bot.storage.transport import MatrixRoom

__all__ = [
    "APPROVED",
    "GENESIS_HASH",
    "MIGRATIONS",
    "Absence",
    "AssessmentLine",
    "AssessmentRow",
    "Assignment",
    "AuditHead",
    "AuditRow",
    "Database",
    "DatabaseUnavailable",
    "InboxRow",
    "MatrixRoom",
    "NoticeClaim",
    "OutboxRow",
    "PostedPart",
    "RecordedStatus",
    "ReviewQuestion",
    "ReviewRow",
    "StorageError",
    "Tx",
    "UserState",
    "VoteRow",
    "WaitingReview",
    "audit_hash",
    "detail_json",
    "is_transient",
    "transport_of",
]
