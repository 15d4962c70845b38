"""The audit trail in sentences (`historique`, and the report's audit section through `trail_sentences`)."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import demo_config
from bot.history import KNOWN_ACTIONS, Entry, Glossary, sentence, trail_sentences
from bot.i18n import LOCALES, Translator, mention
from tests.helpers import Chat, submitted

ROOT = Path(__file__).resolve().parents[2]
AT = "2027-03-12T13:05:00+00:00"  # 14:05 in Paris
WRITTEN = (re.compile(r'\baction="(\w+)", assessment_id='),  # tx.audit(…)
           re.compile(r'\brecord\("(\w+)"'),                  # the engine's step.record(…)
           re.compile(r'_audit\([^,()]+, "(\w+)"'))            # the Matrix verification's _audit(…)


def written_actions() -> set[str]:
    """Every audit action the code writes, read from its sources."""
    found: set[str] = set()
    for folder in ("bot", "adapters", "conversations"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in WRITTEN:
                found.update(pattern.findall(text))
    return found


@pytest.fixture
def glossary(questionnaire) -> Glossary:
    return Glossary.of(demo_config(), questionnaire)


def test_every_action_the_code_writes_has_its_own_message():
    written = written_actions()
    assert {"decision", "outcome", "answer", "matrix_verification_done"} <= written  # the patterns still read
    assert written <= KNOWN_ACTIONS, written - KNOWN_ACTIONS


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("action", sorted(KNOWN_ACTIONS))
def test_each_known_action_reads_as_its_own_sentence_even_without_details(glossary, locale, action):
    t = Translator(locale)
    said = sentence(t, Entry(AT, "console:bob", action, {}), glossary)
    assert "opération «" not in said and "operation \"" not in said  # not the fallback for unknown actions
    assert said.endswith(".") and not re.search(r"[{}\[\]]|\w_\w", said), said


def test_a_decision_reads_as_a_sentence_with_the_roles_configured_names(glossary):
    t = Translator("fr")
    record = Entry(AT, "console:bob", "decision", {"decision": "reservations", "roles": ["dpo", "rssi"],
                                                    "comment": "Revoir la durée\nde conservation"})
    assert trail_sentences(t, [record], glossary) == [
        "12/03/2027 14:05 — bob, Délégué à la protection des données (DPD), RSSI, a validé l'évaluation avec "
        "réserves : « Revoir la durée de conservation »."]
    english = trail_sentences(Translator("en"), [record], glossary)[0]
    assert english.startswith("2027-03-12 14:05 — bob, Délégué à la protection des données (DPD), RSSI, approved")


def test_times_are_in_the_readers_zone(glossary):
    record = Entry(AT, "console:bob", "report_viewed", {})
    assert trail_sentences(Translator("fr", ZoneInfo("America/New_York")), [record], glossary) == [
        "12/03/2027 08:05 — bob a consulté la fiche."]


def test_answers_are_shown_in_words_with_the_questions_short_label(glossary):
    t = Translator("fr")
    trail = [Entry(AT, "console:alice", "created", {"questionnaire_version": "2025.1"}),
             Entry(AT, "console:alice", "answer", {"question": "c1_sensitive", "answer": {"value": "yes"},
                                                   "previous": None}),
             Entry(AT, "console:alice", "blocker_raised", {"question": "c1_sensitive", "answer": {"value": "yes"},
                                                           "criteria": [1]}),
             Entry(AT, "console:alice", "exception_requested", {"question": "c1_sensitive",
                                                                "justification": "Données de santé pseudonymisées"}),
             Entry(AT, "console:alice", "answer", {"question": "ctx_hosting", "answer": {"value": "city"},
                                                   "previous": {"unknown": True}}),
             Entry(AT, "console:alice", "answer", {"question": "ctx_direction", "answer": {"value": "numerique"},
                                                   "previous": None}),
             Entry(AT, "console:alice", "answer", {"question": "c2_legal_text", "answer": {"skipped": True},
                                                   "previous": None})]
    lines = trail_sentences(t, trail, glossary)
    text = "\n".join(lines)
    assert "c1_sensitive" not in text and "ctx_" not in text and "numerique" not in text and "city" not in text
    assert lines[1] == "12/03/2027 14:05 — alice a répondu à « Données sensibles (RGPD art. 9 et 10) » : « oui »."
    assert lines[2] == ("12/03/2027 14:05 — alice a donné une réponse bloquante à « Données sensibles (RGPD art. 9 "
                        "et 10) » (critère 1) : « oui ».")
    assert lines[3].endswith("a demandé un examen exceptionnel pour « Données sensibles (RGPD art. 9 et 10) » : "
                             "« Données de santé pseudonymisées ».")
    assert "« je ne sais pas » devient « Sur les serveurs de la collectivité »" in lines[4]
    assert lines[5].endswith("« Direction » : « Direction du numérique ».")
    assert lines[6].endswith("alice a passé la question « Texte ou délibération ».")


def test_review_records_name_roles_people_and_outcomes_in_words(glossary):
    t = Translator("fr")
    trail = [
        Entry(AT, "boussole", "reviewers_alerted", {"kind": "blocker_alert", "question": "c1_sensitive",
                                                    "recipients": ["console:dpo", "console:rssi"]}),
        Entry(AT, "boussole", "review_requested", {"round": 2, "roles": ["dpo"]}),
        Entry(AT, "console:juriste", "decision_refused", {"reason": "not_reviewer"}),
        Entry(AT, "console:alice", "decision_refused", {"reason": "own_request"}),
        Entry(AT, "boussole", "outcome", {"status": "approved_with_reservations",
                                          "next_review_at": "2028-03-12T13:05:00+00:00"}),
        Entry(AT, "boussole", "outcome", {"status": "withdrawn"}),
        Entry(AT, "boussole", "archived", {"renewed_by": 7}),
    ]
    lines = [line.split(" — ", 1)[1] for line in trail_sentences(t, trail, glossary)]
    assert lines == [
        "Boussole a alerté 2 relecteurs du point bloquant « Données sensibles (RGPD art. 9 et 10) » : dpo, rssi.",
        "Boussole a envoyé la demande de validation (tour 2) à : Délégué à la protection des données (DPD).",
        "juriste n'a pas pu décider : aucun de ses rôles ne relit cette évaluation.",
        "alice n'a pas pu décider : on ne décide pas sur sa propre demande.",
        "L'évaluation est validée avec réserves ; prochaine réévaluation le 12 mars 2028.",
        "L'évaluation est désormais retirée.",
        "L'usage est archivé : l'évaluation n°7 le renouvelle.",
    ]


def test_an_unknown_action_still_reads_as_a_sentence_without_codes_or_structures(glossary):
    t = Translator("fr")
    odd = Entry(AT, "console:bob", "review_question_asked", {"roles": ["dpo"], "nested": {"a": [1, 2]}})
    assert sentence(t, odd, glossary) == "bob : opération « review question asked » enregistrée au journal d'audit."
    hostile = Entry(AT, "console:bob", "decision", {"decision": "approve", "roles": "dpo", "comment": ["x"],
                                                    "question": {"id": 1}})
    said = sentence(t, hostile, glossary)
    assert said == "bob, personne, a validé l'évaluation."


def test_a_question_no_questionnaire_has_is_named_as_such(glossary):
    record = Entry(AT, "console:alice", "answer", {"question": "c9_gone", "answer": {"value": "x"}})
    said = sentence(Translator("fr"), record, glossary)
    assert said == "alice a répondu à « une question retirée du questionnaire » : « x »."


def test_typed_text_is_shown_on_one_line_and_bounded(glossary):
    record = Entry(AT, "console:bob", "decision", {"decision": "reject", "roles": ["dpo"],
                                                    "comment": "a\u202e\x1b[31m" + "b" * 1000 + "\nc"})
    said = sentence(Translator("fr"), record, glossary)
    assert "\n" not in said and "\x1b" not in said and "\u202e" not in said
    assert len(said) < 400 and "…" in said


def test_people_are_named_the_way_the_caller_asks(glossary):
    record = Entry(AT, "slack:U0BOB", "report_viewed", {})
    assert sentence(Translator("fr"), record, glossary) == "@U0BOB a consulté la fiche."
    chat = sentence(Translator("fr"), record, glossary, person=mention)
    assert chat == f"{mention('slack:U0BOB')} a consulté la fiche."


async def test_historique_in_chat_is_sentences_in_the_configured_zone(app, db_path):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"réserves {n} Revoir la durée de conservation", user="console:nr")
    history = (await chat.say(f"historique {n}"))[0]
    lines = history.text.splitlines()
    assert lines[0] == f"Historique de l'évaluation n°{n} :"
    assert lines[1] == "  02/03/2026 09:00 — alice a commencé l'évaluation (questionnaire 2025.1)."  # 08:00 UTC
    assert "  02/03/2026 09:00 — nr, Numérique responsable, a validé l'évaluation avec réserves : " \
           "« Revoir la durée de conservation »." in lines
    assert any("L'évaluation est validée avec réserves ; prochaine réévaluation le " in line for line in lines)
    assert not re.search(r"\{'|\['|\b(approved|reservations|review_requested|created)\b|\bc\d_\w+|ctx_\w+",
                         history.text)


async def test_the_trail_as_storage_reads_it_for_the_report(app, questionnaire):
    chat = Chat(app)
    n = await submitted(chat)
    async with app.db.reading() as tx:
        trail = await tx.audit_trail(n)
    lines = trail_sentences(Translator("fr", app.config.zone), trail, Glossary.of(app.config, questionnaire))
    assert len(lines) == len(trail)
    assert lines[-1] == ("02/03/2026 09:00 — Boussole a envoyé la demande de validation (tour 1) à : "
                         "Numérique responsable.")
