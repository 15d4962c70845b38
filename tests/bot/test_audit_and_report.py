"""The hash-chained audit trail, caught when edited by hand; the assessment report and its access rules."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.audit import export_jsonl, verify
from tests.helpers import Chat, submitted

ROOT = Path(__file__).resolve().parents[2]


async def test_verify_catches_a_record_edited_by_hand(app, db_path):
    chat = Chat(app)
    await submitted(chat)
    intact = await verify(app.db)
    assert intact.intact and intact.records > 30
    with sqlite3.connect(db_path) as raw:  # someone with the database file rewrites history
        raw.execute("DROP TRIGGER audit_no_update")
        target = raw.execute("SELECT id FROM audit WHERE action = 'answer' ORDER BY id LIMIT 1 OFFSET 3").fetchone()[0]
        raw.execute("UPDATE audit SET detail = replace(detail, 'Mission', 'Mision') WHERE id = ?", (target,))
        raw.execute("UPDATE audit SET actor = 'console:mallory' WHERE id = ?", (target,))
    broken = await verify(app.db)
    assert not broken.intact and broken.first_broken == target


async def test_verify_catches_a_deleted_record(app, db_path):
    await submitted(Chat(app))
    with sqlite3.connect(db_path) as raw:
        raw.execute("DROP TRIGGER audit_no_delete")
        raw.execute("DELETE FROM audit WHERE id = 5")
    result = await verify(app.db)
    assert result.first_broken == 6 and "link" in result.reason


async def test_export_jsonl_per_assessment(app):
    await submitted(Chat(app))
    lines = [json.loads(line) for line in await export_jsonl(app.db, 1)]
    assert lines[0]["action"] == "created" and all(line["assessment"] == 1 for line in lines)
    assert all(len(line["hash"]) == 64 for line in lines)


async def test_report_command_writes_the_fiche_and_the_picture(app):
    chat = Chat(app)
    n = await submitted(chat, {"c2_ciso": "non"})
    replies = await chat.say(f"rapport {n}")
    ready = replies[0]
    assert ready.kind == "info" and "Fiche de l'usage n°1" in ready.text and "2⚠️" in ready.text
    image, page = Path(ready.attachment["image"]), Path(ready.attachment["file"])
    assert image.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    html = page.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and 'alt="Boussole des sept critères' in html
    assert "RSSI non consulté" in html and "Le RSSI a-t-il été consulté" in html


async def test_report_is_refused_to_others_and_the_attempt_audited(app, db_path):
    n = await submitted(Chat(app))
    outsider = await Chat(app, user="console:bob").say(f"rapport {n}")
    assert outsider[0].kind == "error"
    reviewer = await Chat(app, user="console:nr").say(f"rapport {n}")
    assert reviewer[0].kind == "info"
    manager = await Chat(app, user="console:manager").say(f"rapport {n}")
    assert manager[0].kind == "info"
    with sqlite3.connect(db_path) as raw:
        refused = raw.execute("SELECT actor FROM audit WHERE action = 'access_refused'").fetchall()
    assert refused == [("console:bob",)]


def test_cli_register_report_and_audit(tmp_path):
    from tests.adapters.test_console import run_console, script_for_clean_interview
    db = tmp_path / "b.db"
    run_console(db, ["nouveau", *script_for_clean_interview(), "soumettre",
                     json.dumps({"as": "nr", "text": "valider 1"})])

    def boussole(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args, "--db", str(db)], capture_output=True, text=True,
                              cwd=ROOT, timeout=60)

    out = tmp_path / "registre.html"
    assert boussole("register", "--format", "html", "--out", str(out)).returncode == 0
    assert "Tri du courrier entrant" in out.read_text(encoding="utf-8")
    report = boussole("report", "1", "--format", "md")
    assert report.returncode == 0 and report.stdout.startswith("# Fiche de l'usage n°1")
    verified = boussole("audit", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout
    exported = boussole("audit", "export", "--format", "jsonl", "--id", "1")
    assert json.loads(exported.stdout.splitlines()[0])["action"] == "created"
