"""The public register: four formats, a JSON Schema, and nothing internal unless asked."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
from markupsafe import escape

from bot.audit import head
from bot.register import SCHEMA_PATH, entries, export, snapshot
from tests.helpers import Chat, submitted

MARKER = "ZZ-SECRET-MARKER-42"


async def populated(app, clock) -> None:
    """Approved (with a marker in the reviewer's comment), in review, rejected, and one with a blocker exception."""
    alice = Chat(app)
    problem = "Les courriers attendent plusieurs jours.\nDeuxième ligne ; « guillemets », virgule."
    n1 = await submitted(alice, {"c3_problem": problem, "c7_why_better": f"Comparaison interne {MARKER} chiffrée."})
    await alice.say(f"réserves {n1} {MARKER} suivi trimestriel", user="console:nr")
    await submitted(Chat(app, user="console:bob"))
    n3 = await submitted(Chat(app, user="console:carol"), {"ctx_name": "Outil refusé"})
    await alice.say(f"refuser {n3} {MARKER} pas de base légale", user="console:nr")
    dave = Chat(app, user="console:dave")
    await dave.say("nouveau")
    await dave.answer_all({"ctx_name": "Badge biométrique"}, stop_at="c1_biometric")
    await dave.say("oui")
    await dave.say("exception")
    await dave.say(f"Justification {MARKER} : obligation réglementaire de sûreté du site.")
    await dave.answer_all({})
    await dave.say("soumettre")
    await alice.say("valider 4", user="console:nr")
    await alice.say("valider 4", user="console:dpo")


async def test_default_register_lists_approved_uses_only_and_leaks_nothing(app, clock):
    await populated(app, clock)
    items = await entries(app.db, app.questionnaire, app.config)
    assert [i["id"] for i in items] == [1, 4]
    assert items[0]["status"] == "approved_with_reservations" and items[0]["decided_by_roles"] == [
        "Numérique responsable"]
    assert items[0]["legal_basis"] == "Mission d'intérêt public"
    assert items[0]["contact"] == "Chef du service courrier"
    assert len(items[0]["criteria"]) == 7
    for fmt in ("csv", "json", "md", "html"):
        text = export(items, fmt, clock.now, head=await head(app.db))
        assert MARKER not in text, fmt
        assert "console:" not in text and "alice" not in text, fmt


async def test_internal_export_adds_what_the_city_keeps_for_itself(app, clock):
    await populated(app, clock)
    items = await entries(app.db, app.questionnaire, app.config, include_all=True, internal=True)
    assert [i["id"] for i in items] == [1, 2, 3, 4]
    text = export(items, "json", clock.now, head=await head(app.db))
    assert MARKER in text and "console:alice" in text


async def test_every_json_export_follows_the_schema(app, clock):
    await populated(app, clock)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    for include_all in (False, True):
        for internal in (False, True):
            items = await entries(app.db, app.questionnaire, app.config, include_all=include_all, internal=internal)
            jsonschema.validate(json.loads(export(items, "json", clock.now, head=await head(app.db))), schema)


async def test_csv_opens_cleanly_in_a_spreadsheet(app, clock):
    await populated(app, clock)
    items, audit_head = await snapshot(app.db, app.questionnaire, app.config)
    text = export(items, "csv", clock.now, head=audit_head)
    assert text.startswith("\ufeff")  # Excel reads UTF-8 accents with the byte-order mark
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["N°", "Nom", "Finalité"]  # headers in words: the JSON is the machine format
    assert all(len(r) == len(rows[0]) for r in rows)
    assert len(rows) == 4  # one header row, one row per use (no broken lines), the audit head's row
    assert rows[1][rows[0].index("Direction")] == "Direction du numérique"
    assert rows[-1][:2] == ["#audit_head", f"{audit_head.count}:{audit_head.hash}"] and not any(rows[-1][2:])


async def test_every_export_carries_the_audit_head_read_with_its_entries(app, clock):
    await populated(app, clock)
    items, audit_head = await snapshot(app.db, app.questionnaire, app.config)
    assert audit_head == await head(app.db) and audit_head.count > 100
    data = json.loads(export(items, "json", clock.now, head=audit_head))
    assert data["audit_head"] == {"count": audit_head.count, "hash": audit_head.hash}
    for fmt in ("md", "html"):
        closing = export(items, fmt, clock.now, head=audit_head).rstrip().splitlines()[-1 if fmt == "md" else -3]
        assert f"--checkpoint {audit_head.count}:{audit_head.hash}" in closing, fmt


async def test_markdown_and_html_are_readable(app, clock):
    await populated(app, clock)
    items = await entries(app.db, app.questionnaire, app.config)
    md = export(items, "md", clock.now, head=await head(app.db))
    assert md.startswith("# Registre des usages") and "| 1 | Tri du courrier entrant |" in md
    page = export(items, "html", clock.now, head=await head(app.db))
    assert '<html lang="fr">' in page and '<th scope="col">Nom</th>' in page
    assert "<script" not in page  # readable without JavaScript
    assert page.index("<h1>") < page.index("<h2")  # headings in order
    assert "⛔ bloquant" in page and "✅ conforme" in page  # status in words, not colour alone


async def test_a_use_not_authorised_for_detailed_publication_is_listed_without_its_details(app, clock):
    chat = Chat(app)
    reason = "Sécurité d'un site sensible de la collectivité"
    n = await submitted(chat, {"c6_register": "non", "c6_register_reason": reason})
    request = next(r for r in chat.inbox if r.kind == "review_request" and r.to == "console:juriste")
    assert ("    – Publication au registre : Publication détaillée au registre refusée : exception à motiver"
            in request.text)  # a point to check on criterion 6, which calls the legal department
    assert f"Motif de non-publication : {reason}" in request.text
    for reviewer in ("console:nr", "console:juriste"):
        await chat.say(f"valider {n}", user=reviewer)
    items = await entries(app.db, app.questionnaire, app.config)
    assert len(items) == 1
    item = items[0]
    assert (item["name"], item["direction"], item["status"]) == ("Tri du courrier entrant", "Direction du numérique",
                                                                 "approved")
    assert item["detailed_publication"] is False and item["publication_reason"] == reason
    assert item["purpose"] == item["supplier"] == item["legal_basis"] == "" and item["criteria"] == []
    for fmt in ("csv", "json", "md", "html"):
        text = export(items, fmt, clock.now, head=await head(app.db))
        shown = str(escape(reason)) if fmt == "html" else reason
        assert "publication détaillée non autorisée" in text and shown in text, fmt
        assert "Classer automatiquement" not in text and "Modèle de classification local" not in text, fmt
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(export(items, "json", clock.now, head=await head(app.db))), schema)
    internal = await entries(app.db, app.questionnaire, app.config, internal=True)
    assert internal[0]["purpose"].startswith("Classer automatiquement")  # the city keeps the details


async def test_the_registers_findings_name_their_question(app, clock):
    chat = Chat(app)
    n = await submitted(chat, {"ctx_hosting": "?"})
    for reviewer in ("console:nr", "console:dpo", "console:rssi", "console:juriste"):
        await chat.say(f"valider {n}", user=reviewer)
    items = await entries(app.db, app.questionnaire, app.config)
    legal = next(c for c in items[0]["criteria"] if c["number"] == 2)
    assert legal["reasons"] == ["Hébergement : Réponse « je ne sais pas » : point à vérifier."]


async def test_a_withdrawn_use_gets_no_recommendation_in_the_register(app):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"annuler {n}")
    await chat.say("oui")
    items = await entries(app.db, app.questionnaire, app.config, include_all=True)
    assert [(i["status"], i["recommendation"]) for i in items] == [("withdrawn", None)]
