"""The audit trail against someone who holds the database file and has dropped the append-only triggers.

Each case rewrites the database with sqlite3 directly, as such a person would, and recomputes the
hash chain where the case says so: `verify` must still fail, on the published head of the trail
(a checkpoint) or because the trail contradicts the assessments and reviews.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.audit import head, parse_checkpoint, verify
from bot.digest import run_digests
from bot.i18n import render
from bot.storage import GENESIS_HASH, audit_hash
from tests.helpers import Chat, submitted

ROOT = Path(__file__).resolve().parents[2]


def untriggered(db_path: Path) -> sqlite3.Connection:
    raw = sqlite3.connect(db_path)
    raw.execute("DROP TRIGGER IF EXISTS audit_no_update")
    raw.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    return raw


def rechain(raw: sqlite3.Connection) -> None:
    """Recompute every record's link and hash, in id order, as a careful forger would."""
    previous = GENESIS_HASH
    rows = raw.execute("SELECT id, at, actor, action, assessment_id, detail FROM audit ORDER BY id").fetchall()
    for record_id, at, actor, action, assessment_id, detail in rows:
        digest = audit_hash(previous, at, actor, action, assessment_id, detail)
        raw.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (previous, digest, record_id))
        previous = digest


async def approved_with_reservations(app) -> int:
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"réserves {n} suivi trimestriel des erreurs", user="console:nr")
    return n


async def test_head_counts_the_records_and_gives_the_last_hash(app, db_path):
    empty = await head(app.db)
    assert (empty.count, empty.hash) == (0, GENESIS_HASH)
    await approved_with_reservations(app)
    now = await head(app.db)
    with sqlite3.connect(db_path) as raw:
        count, = raw.execute("SELECT COUNT(*) FROM audit").fetchone()
        last, = raw.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    assert (now.count, now.hash) == (count, last) and count > 30
    assert (await verify(app.db, [empty, now])).intact


async def test_deleting_the_last_records_fails_against_a_head_published_before(app, db_path):
    n = await approved_with_reservations(app)
    manager = Chat(app, user="console:manager")
    await manager.say(f"rapport {n}")
    await manager.say(f"rapport {n}")
    published = await head(app.db)
    assert (await verify(app.db, [published])).intact
    with untriggered(db_path) as raw:  # hide that the manager looked at the use
        raw.execute("DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id DESC LIMIT 2)")
        assert raw.execute("SELECT action FROM audit ORDER BY id DESC LIMIT 1").fetchone() == ("outcome",)
    assert (await verify(app.db)).intact  # nothing else tells: the published head does
    result = await verify(app.db, [published])
    assert not result.intact
    assert f"checkpoint {published.count}" in result.reason
    assert f"only {published.count - 2} record(s)" in result.reason


async def test_deleting_every_record_fails_even_without_a_checkpoint(app, db_path):
    n = await approved_with_reservations(app)
    published = await head(app.db)
    with untriggered(db_path) as raw:
        raw.execute("DELETE FROM audit")
    result = await verify(app.db)
    assert not result.intact and result.assessment == n
    assert f"assessment no. {n}" in result.reason and "no record" in result.reason
    assert not (await verify(app.db, [published])).intact


async def test_a_decision_rewritten_with_its_hashes_recomputed_is_caught(app, db_path):
    n = await approved_with_reservations(app)
    published = await head(app.db)
    with untriggered(db_path) as raw:
        record_id, detail = raw.execute("SELECT id, detail FROM audit WHERE action = 'decision'").fetchone()
        forged = {**json.loads(detail), "comment": "rien à signaler"}
        raw.execute("UPDATE audit SET actor = 'console:dpo', detail = ? WHERE id = ?",
                    (json.dumps(forged, ensure_ascii=False, sort_keys=True), record_id))
        rechain(raw)
    result = await verify(app.db)
    assert not result.intact and result.first_broken is None and result.assessment == n
    assert "console:nr" in result.reason and "suivi trimestriel des erreurs" in result.reason
    # the forger rewrites the reviews too: the trail and the tables agree again, the published head does not
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE reviews SET reviewer = 'console:dpo', comment = 'rien à signaler' WHERE assessment_id = ?",
                    (n,))
        raw.execute("UPDATE review_votes SET reviewer = 'console:dpo', comment = 'rien à signaler' "
                    "WHERE assessment_id = ?", (n,))  # each member's decision is kept too
    assert (await verify(app.db)).intact
    against_head = await verify(app.db, [published])
    assert not against_head.intact and f"checkpoint {published.count}" in against_head.reason


async def test_a_forged_record_appended_with_a_valid_hash_is_caught(app, db_path):
    n = await submitted(Chat(app))
    with untriggered(db_path) as raw:  # a decision nobody took, chained properly at the end
        at, previous = raw.execute("SELECT at, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        detail = json.dumps({"comment": "", "decision": "approve", "roles": ["numerique-responsable"]},
                            sort_keys=True)
        raw.execute("INSERT INTO audit(at, actor, action, assessment_id, detail, prev_hash, hash) "
                    "VALUES (?, 'console:nr', 'decision', ?, ?, ?, ?)",
                    (at, n, detail, previous, audit_hash(previous, at, "console:nr", "decision", n, detail)))
    result = await verify(app.db)
    assert not result.intact and result.first_broken is None and result.assessment == n
    assert "decision" in result.reason and "no matching row in reviews" in result.reason


async def test_a_forged_record_inserted_before_a_checkpoint_is_caught(app, db_path):
    await submitted(Chat(app))
    published = await head(app.db)
    with untriggered(db_path) as raw:  # an answer slipped in early, every later record renumbered and rechained
        raw.execute("UPDATE audit SET id = -id WHERE id > 3")
        raw.execute("UPDATE audit SET id = 1 - id WHERE id < 0")
        at, = raw.execute("SELECT at FROM audit WHERE id = 3").fetchone()
        raw.execute("INSERT INTO audit(id, at, actor, action, assessment_id, detail, prev_hash, hash) "
                    "VALUES (4, ?, 'console:alice', 'answer', 1, ?, '', '')",
                    (at, json.dumps({"answer": "Autre chose", "question": "ctx_name"})))
        rechain(raw)
    assert (await verify(app.db)).intact  # nothing in the tables contradicts an extra answer
    result = await verify(app.db, [published])
    assert not result.intact and f"record {published.count}" in result.reason


async def test_a_status_edited_in_assessments_is_caught(app, db_path):
    n = await submitted(Chat(app))
    await Chat(app).say(f"refuser {n} pas de base légale", user="console:nr")
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE assessments SET status = 'approved' WHERE id = ?", (n,))
    result = await verify(app.db)
    assert not result.intact and result.assessment == n
    assert "'approved'" in result.reason and "'rejected'" in result.reason


async def test_a_decision_edited_in_reviews_is_caught(app, db_path):
    n = await approved_with_reservations(app)
    other = await submitted(Chat(app, user="console:bob"))
    await Chat(app).say(f"valider {other}", user="console:nr")
    assert (await verify(app.db)).intact
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE reviews SET comment = 'aucune réserve' WHERE assessment_id = ?", (other,))
    result = await verify(app.db)
    assert not result.intact and result.assessment == other
    assert "aucune réserve" in result.reason
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE reviews SET comment = '' WHERE assessment_id = ?", (other,))
        raw.execute("UPDATE reviews SET decision = 'approve' WHERE assessment_id = ?", (n,))
    result = await verify(app.db)
    assert not result.intact and result.assessment == n and "'approve'" in result.reason


def test_parse_checkpoint_refuses_what_is_not_a_head():
    good = parse_checkpoint(f"12:{'ab' * 32}")
    assert (good.count, good.hash) == (12, "ab" * 32)
    for text in ("12", "x:" + "ab" * 32, "-1:" + "ab" * 32, "12:abc", "12:" + "zz" * 32):
        try:
            parse_checkpoint(text)
        except ValueError as error:
            assert "N:HASH" in str(error)
        else:
            raise AssertionError(f"{text!r} accepted")


async def test_every_digest_carries_the_head_of_the_trail(app, clock):
    await submitted(Chat(app))
    expected = await head(app.db)
    notices = await run_digests(app, clock.now, slot="head", dry_run=True)
    assert {n.kind for n in notices} == {"digest", "reviewer_digest"}
    for notice in notices:
        assert notice.reply.params["audit_head"] == {"count": expected.count, "hash": expected.hash}
        shown = render(notice.reply, "fr").text  # and the reader sees what to check it with later
        assert f"--checkpoint {expected.count}:{expected.hash}" in shown


def test_cli_head_then_verify_against_it(tmp_path):
    from tests.adapters.test_console import run_console, script_for_clean_interview
    db = tmp_path / "b.db"
    run_console(db, ["nouveau", *script_for_clean_interview(), "soumettre",
                     json.dumps({"as": "nr", "text": "valider 1"})])

    def boussole(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args, "--db", str(db)], capture_output=True, text=True,
                              cwd=ROOT, timeout=60)

    shown = boussole("audit", "head")
    assert shown.returncode == 0
    published = json.loads(shown.stdout)
    assert set(published) == {"count", "hash"} and published["count"] > 30
    checkpoint = f"{published['count']}:{published['hash']}"
    intact = boussole("audit", "verify", "--checkpoint", checkpoint)
    assert intact.returncode == 0 and "intact" in intact.stdout and "checkpoint" in intact.stdout
    with untriggered(db) as raw:
        raw.execute("DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)")
    truncated = boussole("audit", "verify", "--checkpoint", checkpoint)
    assert truncated.returncode == 1 and f"checkpoint {published['count']}" in truncated.stdout
    malformed = boussole("audit", "verify", "--checkpoint", "abc")
    assert malformed.returncode == 2 and "N:HASH" in malformed.stderr
