"""The terminal adapter's JSON line protocol, end to end through a real subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CLEAN

ROOT = Path(__file__).resolve().parents[2]


def _command(db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bot", "console", "--json", "--db", str(db), *extra]


def run_console(db: Path, lines: list[str], *extra: str) -> list[dict]:
    done = subprocess.run(_command(db, *extra), input="\n".join(lines) + "\n", capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def script_for_clean_interview() -> list[str]:
    """The answers in the order the shipped questionnaire asks them for CLEAN."""
    from conversations.questionnaire import load_questionnaire
    from conversations.rules import is_applicable
    from tests.conversations.test_rules import _answers
    questionnaire = load_questionnaire()
    answers = _answers(questionnaire)
    return [CLEAN[q.id] for q in questionnaire.questions if q.id in CLEAN and is_applicable(q, answers)]


def test_protocol_shape_and_a_whole_interview(tmp_path):
    out = run_console(tmp_path / "b.db", ["nouveau", *script_for_clean_interview(), "soumettre"])
    first_question = out[1]
    assert first_question["to"] == "agent" and first_question["kind"] == "question"
    assert first_question["assessment"] == 1
    assert first_question["question"] == {"id": "ctx_name", "criterion": 0, "type": "text", "choices": []}
    assert set(first_question) == {"to", "kind", "text", "assessment", "question"}
    kinds = [o["kind"] for o in out]
    assert "summary" in kinds and "error" not in kinds
    assert "Évaluation n°1 soumise" in out[-1]["text"] or any("soumise" in o["text"] for o in out[-3:])


def test_messages_as_another_user_and_bad_input(tmp_path):
    out = run_console(tmp_path / "b.db", [
        json.dumps({"as": "bob", "text": "nouveau"}),
        json.dumps({"as": "bob", "text": "x" * 200}),
        "{not json",
    ])
    assert out[0]["to"] == "bob"
    assert out[2]["kind"] == "error" and "120 caractères au plus" in out[2]["text"]
    assert out[3]["question"]["id"] == "ctx_name"
    assert "invalid JSON" in out[4]["error"]


def test_a_replayed_event_id_is_ignored(tmp_path):
    line = json.dumps({"as": "alice", "text": "nouveau", "id": "matrix:$abc"})
    out = run_console(tmp_path / "b.db", [line, line])
    assert [o["kind"] for o in out] == ["info", "question"]


def test_blocker_and_choices_in_json(tmp_path):
    script = script_for_clean_interview()
    out = run_console(tmp_path / "b.db", ["nouveau", *script[:9], "oui"])
    blocker = next(o for o in out if o["kind"] == "blocker" and o["to"] == "agent")
    assert "critère 1/7" in blocker["text"]
    assert "« exception »" in blocker["text"]
    alert = next(o for o in out if o["kind"] == "blocker" and o["to"] == "dpo")
    assert "Point bloquant sur l'évaluation n°1" in alert["text"] and "biométrique" in alert["text"]


def test_eof_delivers_everything_then_exits(tmp_path):
    out = run_console(tmp_path / "b.db", ["aide"])
    assert len(out) == 1 and out[0]["kind"] == "info"


def test_crash_at_any_instant_loses_nothing(tmp_path):
    """SIGKILL the bot mid-interview at several points; each restart resumes at the question it owed."""
    db = tmp_path / "crash.db"
    script = ["nouveau", *script_for_clean_interview()]
    seen: list[dict] = []
    position = 0
    for kill_after in (3, 7, 12, 20):
        proc = subprocess.Popen(_command(db), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert proc.stdin and proc.stdout
        # On restart the adapter first re-sends what the outbox still holds, then we go on.
        proc.stdin.write(json.dumps({"text": "reprendre"}) + "\n" if position else script[0] + "\n")
        proc.stdin.flush()
        position = max(position, 1)
        lines_read = 0
        while lines_read < kill_after:
            line = proc.stdout.readline()
            assert line, "the bot stopped talking"
            seen.append(json.loads(line))
            lines_read += 1
            last = seen[-1]
            if last["kind"] == "question" and position < len(script):
                proc.stdin.write(script[position] + "\n")
                proc.stdin.flush()
                position += 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        # Every question the user saw was sent after the answers before it were committed.
        shown = [int(m.group(1)) for o in seen if (m := re.search(r"question (\d+)/", o["text"]))]
        committed = _resync(db, script) - 1
        assert committed >= max(shown) - 1, (committed, max(shown))
        # Whatever was written after the last question we saw may or may not have been
        # committed; resynchronise on what the database says is pending.
        position = _resync(db, script)
    out = run_console(db, ["reprendre", *script[position:], "soumettre"])
    assert any("soumise" in o["text"] for o in out), [o["text"][:60] for o in out[-3:]]
    import sqlite3
    with sqlite3.connect(db) as raw:
        answered = {r[0] for r in raw.execute("SELECT DISTINCT question_id FROM answers")}
        status = raw.execute("SELECT status FROM assessments WHERE id = 1").fetchone()[0]
        created = raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0]
    assert created == 1 and status == "in_review"
    assert len(answered) == len(script) - 1


def _resync(db: Path, script: list[str]) -> int:
    import sqlite3
    with sqlite3.connect(db) as raw:
        row = raw.execute("SELECT state FROM assessments WHERE id = 1").fetchone()
    if row is None:
        return 0
    answered = len(json.loads(row[0])["answers"])
    return 1 + answered


@pytest.mark.skipif(sys.platform != "linux", reason="uses the Linux signal semantics")
def test_config_errors_exit_with_a_message(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[storage]\npaht = "x"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot", "console", "--config", str(bad)], capture_output=True,
                          text=True, cwd=ROOT, timeout=30, input="")
    assert done.returncode == 2
    assert "unknown key 'storage.paht'" in done.stderr


def test_a_project_named_after_commands_is_stored_and_a_slash_sends_a_command(tmp_path):
    db = tmp_path / "b.db"
    out = run_console(db, ["nouveau", "Rapport mensuel des demandes", "/statut 1",
                           json.dumps({"text": "Valider automatiquement les factures fournisseurs"}), "/aide"])
    asked = [o["question"]["id"] for o in out if o["question"]]
    assert asked == ["ctx_name", "ctx_purpose", "ctx_direction"]
    status = next(o for o in out if "brouillon" in o["text"])
    assert "Rapport mensuel des demandes" in status["text"]
    assert out[-1]["text"].startswith("Commandes de Boussole")
    assert "error" not in [o["kind"] for o in out]
    import sqlite3
    with sqlite3.connect(db) as raw:
        answers = [(q, json.loads(a)["value"]) for q, a in raw.execute(
            "SELECT question_id, answer FROM answers ORDER BY id")]
        refused = raw.execute("SELECT COUNT(*) FROM audit WHERE action LIKE '%refused'").fetchone()[0]
    assert answers == [("ctx_name", "Rapport mensuel des demandes"),
                       ("ctx_purpose", "Valider automatiquement les factures fournisseurs")]
    assert refused == 0


def test_an_event_id_of_zero_is_an_id_like_any_other(tmp_path):
    line = json.dumps({"as": "alice", "text": "nouveau", "id": 0})
    out = run_console(tmp_path / "b.db", [line, line])
    assert [o["kind"] for o in out] == ["info", "question"]


def test_numbers_that_once_stopped_the_terminal_are_answered(tmp_path):
    out = run_console(tmp_path / "b.db", ["statut ²", "statut ①", "statut 99999999999999999999", "aide"])
    assert len(out) == 4 and out[-1]["kind"] == "info"
    assert all("n°" in o["text"] for o in out[:3])


def test_bytes_that_are_not_utf8_do_not_stop_the_terminal(tmp_path):
    done = subprocess.run(_command(tmp_path / "b.db"), input=b"nouveau\n\xff\xfe Projet \xc3\n", capture_output=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-1500:]
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert out[-1]["question"]["id"] == "ctx_purpose"  # the line was read, with U+FFFD for the bad bytes


def test_the_terminal_never_receives_a_raw_escape(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "console", "--db", str(tmp_path / "b.db")],
                          input="nouveau\nProjet \x1b[2J\x1b]0;pwned\x07 final\nrésumé\n", capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and "\x1b" not in done.stdout and "\x07" not in done.stdout
