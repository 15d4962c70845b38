"""The database schema: numbered migrations, each applied once, in its own transaction.

A migration is never edited once released: a change to the schema is a new migration at the end.
`PRAGMA user_version` holds the number of the last one applied.
"""

from __future__ import annotations

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
    # 9: back to plain transactions: the revision triggers and columns that let a step skip its read go.
    """
    DROP TRIGGER IF EXISTS conversations_revision;
    DROP TRIGGER IF EXISTS assessments_revision;
    ALTER TABLE conversations DROP COLUMN revision;
    ALTER TABLE assessments DROP COLUMN revision;
    """,
    # 10: the inbox: events a transport acknowledged, recorded before the acknowledgement and processed from
    # here, so that nothing acknowledged is lost when processing fails or the bot stops.
    """
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        user TEXT NOT NULL,
        transport TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        processed_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX inbox_waiting ON inbox(transport, id) WHERE processed_at IS NULL;
    """,
    # 11: reviews as a city runs them. Each member's decision (a vote: several per role when a role decides
    # "all" or by quorum, with the absent member a delegate stood in for); the stages planned at submission,
    # whose later roles get their request row only when their stage starts; a request handed to another person;
    # absences with their delegate; questions to the requester. Decisions taken before are carried over as votes.
    """
    CREATE TABLE review_votes (
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        round INTEGER NOT NULL,
        role TEXT NOT NULL,
        member TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        decision TEXT NOT NULL,
        comment TEXT,
        decided_at TEXT NOT NULL,
        PRIMARY KEY (assessment_id, round, role, member)
    );
    INSERT INTO review_votes(assessment_id, round, role, member, reviewer, decision, comment, decided_at)
        SELECT assessment_id, round, role, reviewer, reviewer, decision, comment, decided_at FROM reviews
        WHERE decision IS NOT NULL AND decision != 'closed' AND reviewer IS NOT NULL;
    CREATE TABLE review_plan (
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        round INTEGER NOT NULL,
        role TEXT NOT NULL,
        stage INTEGER NOT NULL,
        PRIMARY KEY (assessment_id, round, role)
    );
    CREATE TABLE review_assignments (
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        role TEXT NOT NULL,
        assignee TEXT NOT NULL,
        assigned_by TEXT NOT NULL,
        assigned_at TEXT NOT NULL,
        PRIMARY KEY (assessment_id, role)
    );
    CREATE TABLE absences (
        id INTEGER PRIMARY KEY,
        user TEXT NOT NULL,
        starts_on TEXT NOT NULL,
        ends_on TEXT NOT NULL,
        delegate TEXT,
        created_at TEXT NOT NULL,
        ended_at TEXT
    );
    CREATE INDEX absences_current ON absences(ends_on) WHERE ended_at IS NULL;
    CREATE TABLE review_questions (
        id INTEGER PRIMARY KEY,
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        asked_by TEXT NOT NULL,
        question TEXT NOT NULL,
        asked_at TEXT NOT NULL,
        answer TEXT,
        answered_at TEXT
    );
    CREATE INDEX review_questions_by_assessment ON review_questions(assessment_id, id);
    """,
]


def statements(script: str) -> list[str]:
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
