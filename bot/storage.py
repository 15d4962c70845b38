"""Storage on SQLite through aiosqlite: the one source of truth.

Numbered migrations applied at start; WAL. Each user-visible step writes its state, answers,
findings, audit records and outgoing replies (the outbox) atomically: in one checked statement
(`Database.checked_step`: the step read outside a transaction, or starts from what the user's last
step committed, and its writes first check that this still holds) or in a `BEGIN IMMEDIATE`
transaction (`Database.transaction()`). The audit trail is append-only and hash-chained.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite

from conversations.answers import Answer
from conversations.model import Brief, Conversation, Interview, Mode, Status
from conversations.rules import Finding

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
STALE_READ = "boussole: stale read, another writer came first"
CLEARED_ANSWER = '{"cleared":true}'  # the history's entry for an answer dropped (its question no longer applies)

MIGRATIONS: list[str] = [
    # 1: the interview
    """
    CREATE TABLE assessments (
        id INTEGER PRIMARY KEY,
        requester TEXT NOT NULL,
        status TEXT NOT NULL,
        questionnaire_version TEXT NOT NULL,
        title TEXT,
        direction TEXT,
        state TEXT NOT NULL,
        previous_id INTEGER REFERENCES assessments(id),
        recommendation TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        submitted_at TEXT,
        decided_at TEXT,
        next_review_at TEXT
    );
    CREATE INDEX assessments_by_requester ON assessments(requester, id);
    CREATE INDEX assessments_by_status ON assessments(status, updated_at);
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY,
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        question_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        answered_by TEXT NOT NULL,
        answered_at TEXT NOT NULL
    );
    CREATE INDEX answers_by_assessment ON answers(assessment_id, question_id, id);
    CREATE TABLE findings (
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        question_id TEXT NOT NULL,
        criterion INTEGER NOT NULL,
        level TEXT NOT NULL,
        reason TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        notified_at TEXT,
        PRIMARY KEY (assessment_id, question_id, criterion, level, reason)
    );
    CREATE TABLE conversations (
        user TEXT PRIMARY KEY,
        mode TEXT NOT NULL,
        active INTEGER,
        target INTEGER,
        locale TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        assessment_id INTEGER,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_assessment ON audit(assessment_id, id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        transport TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        delivered_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX outbox_undelivered ON outbox(transport, id) WHERE delivered_at IS NULL;
    CREATE TABLE processed_events (
        event_id TEXT PRIMARY KEY,
        processed_at TEXT NOT NULL
    );
    """,
    # 2: reviews
    """
    ALTER TABLE assessments ADD COLUMN review_round INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE reviews (
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        round INTEGER NOT NULL,
        role TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        decision TEXT,
        reviewer TEXT,
        comment TEXT,
        decided_at TEXT,
        PRIMARY KEY (assessment_id, round, role)
    );
    CREATE INDEX reviews_waiting ON reviews(requested_at) WHERE decision IS NULL;
    """,
    # 3: reminders and digests: what was sent, so nothing is sent twice
    """
    CREATE INDEX assessments_by_next_review ON assessments(next_review_at) WHERE next_review_at IS NOT NULL;
    CREATE INDEX assessments_drafts ON assessments(updated_at) WHERE status IN ('draft', 'changes_requested');
    CREATE INDEX assessments_by_created ON assessments(created_at);
    CREATE INDEX findings_by_raised ON findings(raised_at) WHERE level = 'blocker';
    CREATE INDEX audit_by_action ON audit(action, at);
    CREATE INDEX assessments_by_previous ON assessments(previous_id) WHERE previous_id IS NOT NULL;
    CREATE INDEX assessments_by_direction ON assessments(direction, created_at);
    CREATE INDEX assessments_by_decision ON assessments(decided_at) WHERE decided_at IS NOT NULL;
    CREATE TABLE notices_sent (
        key TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        assessment_id INTEGER,
        sent_at TEXT NOT NULL
    );
    """,
    # 4: messages as posted on a transport, to update them in place and resume split messages
    """
    CREATE TABLE transport_messages (
        outbox_id INTEGER NOT NULL,
        part INTEGER NOT NULL,
        transport TEXT NOT NULL,
        channel TEXT NOT NULL,
        message_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        assessment_id INTEGER,
        key TEXT NOT NULL,
        question_id TEXT,
        payload TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        closed_at TEXT,
        PRIMARY KEY (outbox_id, part)
    );
    CREATE INDEX transport_messages_by_assessment ON transport_messages(assessment_id, key, recipient);
    CREATE INDEX transport_messages_by_message ON transport_messages(transport, channel, message_id);
    """,
    # 5: transport state that must move in step with what was processed (Matrix sync token, rooms)
    """
    CREATE TABLE transport_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE matrix_rooms (
        room_id TEXT PRIMARY KEY,
        user TEXT,
        direct INTEGER NOT NULL DEFAULT 0,
        joined_at INTEGER NOT NULL
    );
    CREATE INDEX matrix_rooms_by_user ON matrix_rooms(user) WHERE direct = 1;
    """,
    # 6: a reviewer's decision waiting for its comment (a reaction on Matrix, a command without comment)
    """
    ALTER TABLE conversations ADD COLUMN pending TEXT;
    """,
    # 7: fewer pages written by each step (every B-tree a step touches is one more page to write and sync).
    # The event ids in one B-tree; no index on the audit by action (no query uses it); assessments by
    # status alone, so that an answer, which changes the update time, leaves that index alone.
    """
    CREATE TABLE processed_events_by_id (
        event_id TEXT PRIMARY KEY,
        processed_at TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO processed_events_by_id(event_id, processed_at) SELECT event_id, processed_at FROM processed_events;
    DROP TABLE processed_events;
    ALTER TABLE processed_events_by_id RENAME TO processed_events;
    DROP INDEX audit_by_action;
    DROP INDEX assessments_by_status;
    CREATE INDEX assessments_by_status ON assessments(status);
    """,
    # 8: revisions, so that a step can read without a transaction and check, as it writes, that what it
    # read has not changed (rows are never deleted: a count and a sum of revisions tell any change).
    """
    ALTER TABLE conversations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE assessments ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER conversations_revision AFTER UPDATE ON conversations
        BEGIN UPDATE conversations SET revision = OLD.revision + 1 WHERE user = OLD.user; END;
    CREATE TRIGGER assessments_revision AFTER UPDATE ON assessments
        BEGIN UPDATE assessments SET revision = OLD.revision + 1 WHERE id = OLD.id; END;
    """,
]


class StorageError(Exception):
    """The database cannot be used as it is (too new, unreadable)."""


class InterviewState(NamedTuple):
    """What `assessments.state` holds: the answering state of an interview."""

    answers: Mapping[str, Answer]
    pending: str | None
    revisiting: bool
    blocked_on: str | None
    exceptions: Mapping[str, str]
    previous: Mapping[str, Answer]


class _ParsedStates:
    """Recently written or read `state` texts and what they parse to.

    A step reads back the state the previous step of its user wrote; keyed by the whole text, an
    entry can never be stale, and the database stays the only source of truth."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self.entries: dict[str, InterviewState] = {}

    def get(self, text: str) -> InterviewState:
        state = self.entries.pop(text, None)
        if state is None:
            data = json.loads(text)
            state = InterviewState({k: Answer.from_json(v) for k, v in data["answers"].items()}, data["pending"],
                                   data["revisiting"], data["blocked_on"], data["exceptions"],
                                   {k: Answer.from_json(v) for k, v in data["previous"].items()})
        self.put(text, state)
        return state

    def put(self, text: str, state: InterviewState) -> None:
        if len(self.entries) >= self.size:
            del self.entries[next(iter(self.entries))]  # the least recently used
        self.entries[text] = state


_parsed_states = _ParsedStates()


class _AnswerTexts:
    """Each answer's JSON text, by the answer's identity.

    A step changes one answer, and the state it writes repeats all the others: the very objects of
    the state the step read. An entry holds its answer, which keeps the answer's id its own."""

    def __init__(self, size: int = 16384) -> None:
        self.size = size
        self.entries: dict[int, tuple[Answer, str]] = {}

    def get(self, answer: Answer) -> str:
        entry = self.entries.get(id(answer))
        if entry is not None:
            return entry[1]
        text = json.dumps(answer.to_json(), ensure_ascii=False, separators=(",", ":"))
        if len(self.entries) >= self.size:
            del self.entries[next(iter(self.entries))]
        self.entries[id(answer)] = (answer, text)
        return text

    def mapping(self, answers: Mapping[str, Answer]) -> str:
        # Question ids are words of letters, digits and _ (the questionnaire loader checks): no escaping needed.
        entries, parts = self.entries, []
        for question_id, answer in answers.items():
            entry = entries.get(id(answer))
            parts.append(f'"{question_id}":{entry[1] if entry is not None else self.get(answer)}')
        return "{" + ",".join(parts) + "}"


_answer_texts = _AnswerTexts()


def _question_id_json(question_id: str | None) -> str:
    return "null" if question_id is None else f'"{question_id}"'  # ids need no escaping (see mapping)


def interview_to_state(interview: Interview) -> str:
    exceptions = (json.dumps(dict(interview.exceptions), ensure_ascii=False, separators=(",", ":"))
                  if interview.exceptions else "{}")
    text = (f'{{"answers":{_answer_texts.mapping(interview.answers)},'
            f'"previous":{_answer_texts.mapping(interview.previous)},'
            f'"pending":{_question_id_json(interview.pending)},'
            f'"revisiting":{"true" if interview.revisiting else "false"},'
            f'"blocked_on":{_question_id_json(interview.blocked_on)},"exceptions":{exceptions}}}')
    _parsed_states.put(text, InterviewState(interview.answers, interview.pending, interview.revisiting,
                                            interview.blocked_on, interview.exceptions, interview.previous))
    return text


@dataclass(frozen=True)
class AssessmentRow:
    """One row of `assessments`, with the interview it holds."""

    interview: Interview
    title: str | None
    direction: str | None
    recommendation: str | None
    updated_at: str
    submitted_at: str | None
    decided_at: str | None
    next_review_at: str | None

    COLUMNS = ("id, requester, status, questionnaire_version, title, direction, state, previous_id, "
               "recommendation, created_at, updated_at, submitted_at, decided_at, next_review_at")

    @classmethod
    def from_row(cls, row: Any) -> AssessmentRow:
        state = _parsed_states.get(row["state"])
        interview = Interview(
            id=row["id"], requester=row["requester"], questionnaire_version=row["questionnaire_version"],
            status=Status(row["status"]), answers=state.answers, pending=state.pending,
            revisiting=state.revisiting, blocked_on=state.blocked_on, exceptions=state.exceptions,
            previous=state.previous, previous_id=row["previous_id"], created_at=row["created_at"],
        )
        return cls(interview, row["title"], row["direction"], row["recommendation"], row["updated_at"],
                   row["submitted_at"], row["decided_at"], row["next_review_at"])


class UserState(NamedTuple):
    """What a step reads about its user, in one query."""

    conversation: Conversation
    next_id: int                      # the number a new assessment would get
    briefs: list[Brief]               # the user's assessments, newest first
    drafts: dict[int, Interview]      # the editable ones, in full


class Expected(NamedTuple):
    """A user's state as a checked step read it, or will leave it once its writes commit, with the
    revisions the database then holds: what the step's first write checks."""

    state: UserState
    conversation_revision: int        # -1: no conversation row yet
    assessments: int
    assessment_revisions: int

    def with_conversation(self, conversation: Conversation) -> Expected:
        # An update bumps the revision (trigger); a first insert starts it at 0.
        return self._replace(state=self.state._replace(conversation=conversation),
                             conversation_revision=self.conversation_revision + 1)

    def with_interview(self, interview: Interview, now: str, *, new: bool) -> Expected:
        conversation, next_id, briefs, drafts = self.state
        if new:
            briefs = sorted([Brief(interview.id, interview.title, interview.status, now), *briefs],
                            key=lambda b: -b.id)
            next_id = max(next_id, interview.id + 1)
        else:
            briefs = [Brief(b.id, interview.title, interview.status, now, b.next_review_at) if b.id == interview.id
                      else b for b in briefs]
        drafts = {k: v for k, v in drafts.items() if k != interview.id}
        if interview.status.editable:
            drafts[interview.id] = interview
        return Expected(UserState(conversation, next_id, briefs, drafts), self.conversation_revision,
                        self.assessments + new, self.assessment_revisions + (not new))


class LastStates:
    """What each user's last checked step left, as it committed it, so that the next step need not read.

    Never trusted on its own: the next step's first write checks these revisions against the database,
    and a step that finds them stale runs again on a fresh read. The most recent users only."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.entries: dict[str, Expected] = {}

    def take(self, user: str) -> Expected | None:
        return self.entries.pop(user, None)

    def keep(self, user: str, expected: Expected) -> None:
        self.entries.pop(user, None)
        if len(self.entries) >= self.size:
            del self.entries[next(iter(self.entries))]  # the least recently used
        self.entries[user] = expected

    def forget(self, users: Iterable[str] | None = None) -> None:
        """Drop some users' entries, or all of them."""
        if users is None:
            self.entries.clear()
        for user in users or ():
            self.entries.pop(user, None)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    recipient: str
    transport: str
    payload: dict[str, Any]
    attempts: int

    @classmethod
    def from_row(cls, row: Any) -> OutboxRow:
        return cls(row["id"], row["recipient"], row["transport"], json.loads(row["payload"]), row["attempts"])


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


def audit_hash(prev_hash: str, at: str, actor: str, action: str, assessment_id: int | None, detail: str) -> str:
    material = json.dumps([prev_hash, at, actor, action, assessment_id, detail], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def transport_of(identity: str) -> str:
    return identity.split(":", 1)[0]


_NAMED_PARAMETER = re.compile(r":([a-z_]+)")


@dataclass(frozen=True)
class Write:
    """A write a step queues instead of running at once.

    Every call into aiosqlite's thread costs about as much as a small statement, and a step makes
    several writes; queued writes reach the database together, as the rows of one INSERT into a TEMP
    view whose INSTEAD OF triggers run each write's SQL, at the transaction's next read or at its commit.
    `sql` names its values `:name`; they become the view's columns for the trigger.
    """

    name: str
    sql: str
    params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(dict.fromkeys(_NAMED_PARAMETER.findall(self.sql))))

    @property
    def padding(self) -> tuple[None, ...]:
        """The unused columns of the queue's rows (every row has them all)."""
        return _PADDING[len(self.params)]

    def trigger(self) -> str:
        body = _NAMED_PARAMETER.sub(lambda m: f"NEW.v{self.params.index(m.group(1)) + 1}", self.sql)
        return (f"CREATE TEMP TRIGGER queued_{self.name} INSTEAD OF INSERT ON queued_writes "
                f"WHEN NEW.write = '{self.name}' BEGIN {body}; END")


CLAIM_EVENT = Write("event", "INSERT INTO processed_events(event_id, processed_at) VALUES (:event_id, :now)")
SAVE_CONVERSATION = Write(
    "conversation",
    "INSERT INTO conversations(user, mode, active, target, locale, pending, updated_at) "
    "VALUES (:user, :mode, :active, :target, :locale, :pending, :now) "
    "ON CONFLICT(user) DO UPDATE SET mode = excluded.mode, active = excluded.active, "
    "target = excluded.target, locale = excluded.locale, pending = excluded.pending, "
    "updated_at = excluded.updated_at")
EXPECT = Write(  # first of a checked step's writes: what it read still holds, or nothing is written
    "expect",
    f"SELECT RAISE(ABORT, '{STALE_READ}') WHERE "
    "COALESCE((SELECT revision FROM conversations WHERE user = :user), -1) != :conversation_revision "
    "OR NOT (SELECT COUNT(*) = :assessments AND COALESCE(SUM(revision), 0) = :assessment_revisions "
    "FROM assessments WHERE requester = :user)")
NEW_ASSESSMENT = Write(
    "assessment",
    "INSERT INTO assessments(id, requester, status, questionnaire_version, title, direction, state, previous_id, "
    "recommendation, created_at, updated_at) VALUES (:id, :requester, :status, :version, :title, :direction, "
    ":state, :previous_id, :recommendation, :created_at, :now)")
SAVE_ASSESSMENT = Write(
    "assessment_changed",
    "UPDATE assessments SET status = :status, title = :title, direction = :direction, state = :state, "
    "recommendation = :recommendation, updated_at = :now, "
    "submitted_at = CASE WHEN :status = 'in_review' AND status != 'in_review' THEN :now ELSE submitted_at END "
    "WHERE id = :id")
SAVE_PROGRESS = Write(  # the usual answer: only the state moves, so only the indexes on the update time change
    "progress",
    "UPDATE assessments SET state = :state, recommendation = :recommendation, updated_at = :now WHERE id = :id")
APPEND_ANSWER = Write(
    "answer",
    "INSERT INTO answers(assessment_id, question_id, answer, answered_by, answered_at) "
    "VALUES (:assessment_id, :question_id, :answer, :actor, :now)")
REMOVE_FINDING = Write(
    "finding_gone",
    "DELETE FROM findings WHERE assessment_id = :assessment_id AND question_id = :question_id "
    "AND criterion = :criterion AND level = :level AND reason = :reason")
ADD_FINDING = Write(
    "finding_new",
    "INSERT INTO findings(assessment_id, question_id, criterion, level, reason, raised_at) "
    "VALUES (:assessment_id, :question_id, :criterion, :level, :reason, :now) ON CONFLICT DO NOTHING")
APPEND_AUDIT = Write(
    "audit",
    "INSERT INTO audit(at, actor, action, assessment_id, detail, prev_hash, hash) "
    "SELECT :now, :actor, :action, :assessment_id, :detail, prev, "
    "boussole_audit_hash(prev, :now, :actor, :action, :assessment_id, :detail) FROM "
    f"(SELECT COALESCE((SELECT hash FROM audit ORDER BY id DESC LIMIT 1), '{GENESIS_HASH}') AS prev)")
ENQUEUE = Write(
    "outbox",
    "INSERT INTO outbox(recipient, transport, payload, created_at) VALUES (:recipient, :transport, :payload, :now)")
WRITES = (EXPECT, CLAIM_EVENT, SAVE_CONVERSATION, NEW_ASSESSMENT, SAVE_ASSESSMENT, SAVE_PROGRESS, APPEND_ANSWER,
          REMOVE_FINDING, ADD_FINDING, APPEND_AUDIT, ENQUEUE)
_WIDTH = max(len(w.params) for w in WRITES)
_PADDING = [(None,) * (_WIDTH - n) for n in range(_WIDTH + 1)]
_QUEUED_WRITES_VIEW = ("CREATE TEMP VIEW queued_writes(write, "
                       + ", ".join(f"v{i}" for i in range(1, _WIDTH + 1)) + ") AS SELECT "
                       + ", ".join(["NULL"] * (_WIDTH + 1)) + " WHERE 0")
_ROWS_PER_STATEMENT = 500  # SQLite takes at most 32766 values per statement


@functools.cache
def _insert_queued(rows: int) -> str:
    row = "(" + ", ".join(["?"] * (_WIDTH + 1)) + ")"
    return "INSERT INTO queued_writes VALUES " + ", ".join([row] * rows)


class StaleRead(Exception):
    """A checked step's read no longer holds: another process wrote in between. Nothing was written."""


class NeedsTransaction(Exception):
    """A checked step wanted more than one read and one write: run it again in a transaction."""


def _is_stale(error: sqlite3.IntegrityError) -> bool:
    message = str(error)
    # The event id or the new assessment number taken in between, or the checked read changed.
    return (STALE_READ in message or "processed_events.event_id" in message or "assessments.id" in message)


class Tx:
    """The operations available inside one write transaction, or in one checked step (`checked`):
    a step that reads once, outside any transaction, and writes once, in one statement whose first
    row checks that what it read still holds (`Database.checked_step`)."""

    def __init__(self, conn: aiosqlite.Connection, *, checked: bool = False,
                 last_states: LastStates | None = None) -> None:
        self.conn = conn
        self.checked = checked
        self.last_states = last_states
        self.expected: Expected | None = None  # a checked step's user, as its writes will leave them
        self.others: set[str] = set()          # users whose conversation or assessments it changes as well
        self._queued: list[tuple[Any, ...]] = []
        self._reads = 0

    def queue(self, write: Write, **values: Any) -> None:
        """Queue a write; it runs, in order with the others, before the next read or at commit."""
        self._queued.append((write.name, *[values[name] for name in write.params], *write.padding))

    async def flush(self) -> None:
        """Run the queued writes, in one statement (one call to the database thread) per 500."""
        if not self._queued:
            return
        if self.checked and (self._reads != 1 or len(self._queued) > _ROWS_PER_STATEMENT):
            raise NeedsTransaction
        rows, self._queued = self._queued, []
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start:start + _ROWS_PER_STATEMENT]
            await self.conn.execute(_insert_queued(len(chunk)), [value for row in chunk for value in row])

    async def _before_read(self) -> None:
        if self.checked:
            if self._reads or self._queued:
                raise NeedsTransaction  # a checked step reads once, first
            self._reads += 1
        else:
            await self.flush()

    # Each call below is one hop to the database thread, after the queued writes.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        await self._before_read()
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        await self._before_read()
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int | None:
        await self._before_read()
        cursor = await self.conn.execute(sql, tuple(params))
        return cursor.lastrowid

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            await self._before_read()
            await self.conn.executemany(sql, rows)

    # -- events -------------------------------------------------------------------------
    async def claim_event(self, event_id: str, now: str) -> bool:
        """Record an incoming event id; False when it was already processed (a retry)."""
        await self._before_read()
        cursor = await self.conn.execute(
            "INSERT INTO processed_events(event_id, processed_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (event_id, now))
        return cursor.rowcount == 1

    # -- conversations ------------------------------------------------------------------
    async def conversation(self, user: str) -> tuple[Conversation, int]:
        """The user's conversation, and the number the next new assessment would get."""
        row = await self.fetchone(
            "SELECT c.mode, c.active, c.target, c.locale, c.pending, "
            "(SELECT COALESCE(MAX(id), 0) + 1 FROM assessments) AS next_id "
            "FROM (SELECT 1) LEFT JOIN conversations AS c ON c.user = ?", (user,))
        if row["mode"] is None:
            return Conversation(user), int(row["next_id"])
        return (Conversation(user, Mode(row["mode"]), row["active"], row["target"], row["locale"], row["pending"]),
                int(row["next_id"]))

    async def save_conversation(self, conversation: Conversation, now: str) -> None:
        if self.expected is not None and conversation.user == self.expected.state.conversation.user:
            self.expected = self.expected.with_conversation(conversation)
        else:
            self.others.add(conversation.user)
        self.queue(SAVE_CONVERSATION, user=conversation.user, mode=conversation.mode, active=conversation.active,
                   target=conversation.target, locale=conversation.locale, pending=conversation.pending, now=now)

    async def locale_of(self, user: str) -> str | None:
        row = await self.fetchone("SELECT locale FROM conversations WHERE user = ?", (user,))
        return row["locale"] if row else None

    # -- assessments --------------------------------------------------------------------
    async def assessment(self, assessment_id: int) -> AssessmentRow | None:
        row = await self.fetchone(f"SELECT {AssessmentRow.COLUMNS} FROM assessments WHERE id = ?", (assessment_id,))
        return AssessmentRow.from_row(row) if row else None

    async def start_step(self, event_id: str, user: str, now: str) -> UserState | None:
        """The read a step starts with, in one query: None when the event was already processed (a
        transport's retry); otherwise the event is claimed (queued with the step's writes) and the user's
        state returned: conversation, next assessment number, assessments (newest first, editable ones in
        full). A checked step also queues, first, the check that this read still holds."""
        last = self.last_states.take(user) if self.checked and self.last_states is not None else None
        if last is not None:  # what this user's last step left: no read, the first write checks it
            self._reads = 1
            return self._begin_step(event_id, user, now, last)
        rows = await self.fetchall(
            "SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_id = ?2) AS processed, "
            "c.mode, c.active, c.target, c.locale, c.pending, COALESCE(c.revision, -1) AS conversation_revision, "
            "a.revision, "
            "(SELECT COALESCE(MAX(id), 0) + 1 FROM assessments) AS next_id, "
            f"{', '.join('a.' + c.strip() for c in AssessmentRow.COLUMNS.split(','))} "
            "FROM (SELECT 1) LEFT JOIN conversations AS c ON c.user = ?1 "
            "LEFT JOIN assessments AS a ON a.requester = ?1 ORDER BY a.id DESC", (user, event_id))
        first = rows[0]
        if first["processed"]:
            return None
        own = [r for r in rows if r["id"] is not None]
        conversation = (Conversation(user) if first["mode"] is None else
                        Conversation(user, Mode(first["mode"]), first["active"], first["target"], first["locale"],
                                     first["pending"]))
        briefs = [Brief(r["id"], r["title"], Status(r["status"]), r["updated_at"], r["next_review_at"]) for r in own]
        drafts = {r["id"]: AssessmentRow.from_row(r).interview for r in own if Status(r["status"]).editable}
        read = Expected(UserState(conversation, int(first["next_id"]), briefs, drafts),
                        first["conversation_revision"], len(own), sum(r["revision"] for r in own))
        return self._begin_step(event_id, user, now, read)

    def _begin_step(self, event_id: str, user: str, now: str, read: Expected) -> UserState:
        if self.checked:
            self.queue(EXPECT, user=user, conversation_revision=read.conversation_revision,
                       assessments=read.assessments, assessment_revisions=read.assessment_revisions)
            self.expected = read
        self.queue(CLAIM_EVENT, event_id=event_id, now=now)
        return read.state

    async def save_interview(self, interview: Interview, *, actor: str, now: str,
                             recommendation: str | None, old: Interview | None) -> None:
        """Upsert the assessment row and append every changed answer to the answer history."""
        if old is None and not interview.created_at:
            interview = replace(interview, created_at=now)
        if self.expected is not None and interview.requester == self.expected.state.conversation.user:
            self.expected = self.expected.with_interview(interview, now, new=old is None)
        else:
            self.others.add(interview.requester)
        if old is not None and (old.status, old.questionnaire_version, old.title, old.direction) == (
                interview.status, interview.questionnaire_version, interview.title, interview.direction):
            self.queue(SAVE_PROGRESS, id=interview.id, state=interview_to_state(interview),
                       recommendation=recommendation, now=now)
        elif old is not None:
            self.queue(SAVE_ASSESSMENT, id=interview.id, status=interview.status, title=interview.title,
                       direction=interview.direction, state=interview_to_state(interview),
                       recommendation=recommendation, now=now)
        else:
            self.queue(NEW_ASSESSMENT, id=interview.id, requester=interview.requester, status=interview.status,
                       version=interview.questionnaire_version, title=interview.title, direction=interview.direction,
                       state=interview_to_state(interview), previous_id=interview.previous_id,
                       recommendation=recommendation, created_at=interview.created_at, now=now)
        before = old.answers if old else {}
        for question_id, answer in interview.answers.items():
            earlier = before.get(question_id)
            if earlier is not answer and earlier != answer:  # most are the very objects of the read
                self.queue(APPEND_ANSWER, assessment_id=interview.id, question_id=question_id,
                           answer=json.dumps(answer.to_json(), ensure_ascii=False), actor=actor, now=now)
        for question_id in before:
            if question_id not in interview.answers:
                self.queue(APPEND_ANSWER, assessment_id=interview.id, question_id=question_id,
                           answer=CLEARED_ANSWER, actor=actor, now=now)

    async def set_review_dates(self, assessment_id: int, *, decided_at: str | None,
                               next_review_at: str | None) -> None:
        await self.execute("UPDATE assessments SET decided_at = ?, next_review_at = ? WHERE id = ?",
                           (decided_at, next_review_at, assessment_id))

    async def claim_notice(self, key: str, *, recipient: str, kind: str, assessment_id: int | None,
                           now: str) -> bool:
        """Record that a reminder or digest was queued; False when the same key was already sent."""
        await self._before_read()
        cursor = await self.conn.execute(
            "INSERT INTO notices_sent(key, recipient, kind, assessment_id, sent_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", (key, recipient, kind, assessment_id, now))
        return cursor.rowcount == 1

    async def notice_sent(self, key: str) -> bool:
        return await self.fetchone("SELECT 1 FROM notices_sent WHERE key = ?", (key,)) is not None

    async def answer_history(self, assessment_id: int) -> list[Any]:
        return await self.fetchall(
            "SELECT question_id, answer, answered_by, answered_at FROM answers WHERE assessment_id = ? ORDER BY id",
            (assessment_id,))

    async def save_findings(self, assessment_id: int, before: list[Finding], after: list[Finding],
                            now: str) -> list[Finding]:
        """Store the change from the findings of the old answers to those of the new; return the new ones."""
        def reason(f: Finding) -> str:
            return json.dumps([f.reason.fr, f.reason.en], ensure_ascii=False)

        if before == after:  # most answers raise nothing new: the very same findings, compared by identity first
            return []
        old, new = set(before), set(after)
        for f in old - new:
            self.queue(REMOVE_FINDING, assessment_id=assessment_id, question_id=f.question_id, criterion=f.criterion,
                       level=str(f.level), reason=reason(f))
        added = list(dict.fromkeys(f for f in after if f not in old))
        for f in added:
            self.queue(ADD_FINDING, assessment_id=assessment_id, question_id=f.question_id, criterion=f.criterion,
                       level=str(f.level), reason=reason(f), now=now)
        return added

    # -- audit --------------------------------------------------------------------------
    async def audit(self, *, actor: str, action: str, assessment_id: int | None,
                    detail: Mapping[str, Any], now: str) -> None:
        await self.audit_many([(actor, action, assessment_id, detail)], now)

    async def audit_many(self, entries: list[tuple[str, str, int | None, Mapping[str, Any]]], now: str) -> None:
        """Append records to the chain; each one's hash covers the previous record's hash."""
        for actor, action, assessment_id, detail in entries:
            self.queue(APPEND_AUDIT, now=now, actor=actor, action=action, assessment_id=assessment_id,
                       detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str))

    async def audit_trail(self, assessment_id: int | None = None) -> list[AuditRow]:
        if assessment_id is None:
            rows = await self.fetchall("SELECT * FROM audit ORDER BY id")
        else:
            rows = await self.fetchall("SELECT * FROM audit WHERE assessment_id = ? ORDER BY id", (assessment_id,))
        return [AuditRow.from_row(r) for r in rows]

    # -- outbox -------------------------------------------------------------------------
    async def enqueue(self, messages: list[tuple[str, Mapping[str, Any]]], now: str) -> None:
        """Queue (recipient, payload) messages for delivery, in order."""
        for to, payload in messages:
            self.queue(ENQUEUE, recipient=to, transport=transport_of(to), payload=json.dumps(payload), now=now)


class Database:
    """One aiosqlite connection; writes serialised in-process by a lock, across processes by SQLite."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self.last_states = LastStates()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError("the database is not open: call open() first")
        return self._conn

    async def open(self) -> Database:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.create_function("boussole_audit_hash", 6, audit_hash, deterministic=True)
        await self._conn.execute("PRAGMA journal_mode = WAL")
        await self._conn.execute("PRAGMA busy_timeout = 10000")
        await self._conn.execute("PRAGMA foreign_keys = ON")
        await self._conn.execute("PRAGMA synchronous = FULL")
        try:
            await self.migrate()
            await self._conn.execute(_QUEUED_WRITES_VIEW)
            for write in WRITES:
                await self._conn.execute(write.trigger())
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

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
                    for statement in _statements(MIGRATIONS[number - 1]):
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
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._lock:
            self.last_states.forget()  # a transaction may change anyone's rows
            await self.conn.execute("BEGIN IMMEDIATE")
            tx = Tx(self.conn)
            try:
                yield tx
                await tx.flush()
                await self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise

    @contextlib.asynccontextmanager
    async def checked_step(self) -> AsyncIterator[Tx]:
        """A step in one or two calls to the database instead of four: its one read outside any transaction
        (none when this user's last step left their state in `last_states`), its writes in one statement
        (atomic and durable on its own) that first checks what it read still holds. Raises StaleRead (nothing
        written: run the step again, on a fresh read) or NeedsTransaction (the step wanted more: run it in
        `transaction()`)."""
        async with self._lock:
            tx = Tx(self.conn, checked=True, last_states=self.last_states)
            committed = False
            try:
                yield tx
                await tx.flush()
                committed = True
            except sqlite3.IntegrityError as error:
                if _is_stale(error):
                    raise StaleRead(str(error)) from error
                raise
            finally:
                self.last_states.forget(tx.others)
                if committed and tx.expected is not None:  # what the step left, as the database now holds it
                    self.last_states.keep(tx.expected.state.conversation.user, tx.expected)

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[Tx]:
        """Consistent reads, kept apart from a write transaction under way on this connection."""
        async with self._lock:
            await self.conn.execute("BEGIN")
            try:
                yield Tx(self.conn)
            finally:
                await self.conn.execute("COMMIT")

    # Single statements below run in autocommit (atomic on their own); the lock keeps them
    # out of a transaction another coroutine may have open on this connection.
    async def data_version(self) -> int:
        """Changes whenever another connection (another process) commits to the database."""
        async with self._lock:
            rows = await self.conn.execute_fetchall("PRAGMA data_version")
        return int(next(iter(rows))[0])

    async def undelivered(self, transport: str, limit: int = 100) -> list[OutboxRow]:
        async with self._lock:
            rows = await self.conn.execute_fetchall(
                "SELECT id, recipient, transport, payload, attempts FROM outbox "
                "WHERE transport = ? AND delivered_at IS NULL ORDER BY id LIMIT ?", (transport, limit))
        return [OutboxRow.from_row(r) for r in rows]

    async def mark_delivered(self, outbox_id: int, now: str) -> None:
        async with self._lock:
            await self.conn.execute("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
                                    (now, outbox_id))

    async def mark_dead(self, outbox_id: int, error: str, now: str) -> None:
        """A message the transport will never accept: set aside (kept, with why) so the queue moves on."""
        async with self._lock:
            await self.conn.execute("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = ? "
                                    "WHERE id = ?", (now, f"undeliverable: {error[:480]}", outbox_id))

    async def execute_now(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """One statement on its own (autocommit), kept out of any open transaction of this connection."""
        async with self._lock:
            return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def mark_failed(self, outbox_id: int, error: str) -> None:
        async with self._lock:
            await self.conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                                    (error[:500], outbox_id))


def _statements(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    out, buffer = [], ""
    for line in script.splitlines():
        buffer += line + "\n"
        stripped = buffer.strip()
        if stripped.endswith(";") and (not stripped.upper().startswith("CREATE TRIGGER") or stripped.endswith("END;")):
            out.append(stripped)
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out
