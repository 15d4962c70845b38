"""The terminal adapter's JSON line protocol, end to end through a real subprocess."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import BENEFIT_SCORER, CLEAN, WRITING_AID, answers_for
from tests.helpers import STREET_CAMERA as DUMPING_CAMERA

ROOT = Path(__file__).resolve().parents[2]


def _command(db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bot", "console", "--json", "--db", str(db), *extra]


def run_console(db: Path, lines: list[str], *extra: str) -> list[dict]:
    done = subprocess.run(_command(db, *extra), input="\n".join(lines) + "\n", capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def asked_for(overrides: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(question id, what is typed), in the order the shipped questionnaire asks, for CLEAN with `overrides`."""
    from conversations.questionnaire import load_questionnaire
    questionnaire = load_questionnaire()
    typed = {**CLEAN, **(overrides or {})}
    answers = answers_for(questionnaire, overrides)
    return [(q.id, typed[q.id]) for q in questionnaire.questions if q.id in answers]


def script_for(overrides: dict[str, str] | None = None) -> list[str]:
    return [text for _question, text in asked_for(overrides)]


def script_for_clean_interview() -> list[str]:
    return script_for()


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
    out = run_console(tmp_path / "b.db", ["nouveau", *script[:16], "oui"])   # up to c1_biometric
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
        shown = [int(m.group(1)) for o in seen if (m := re.search(r"question (\d+) sur environ", o["text"]))]
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
    assert out[-1]["text"].startswith("Commandes disponibles maintenant")
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


def test_the_compass_pictures_alt_text_is_printed_beside_its_path():
    from adapters.console import human_text
    from bot.i18n import Rendered
    rendered = Rendered(to="console:agent", kind="info", key="report.ready",
                        body="Fiche…\nImage de la boussole : /tmp/reports/boussole-1.png",
                        attachment={"image": "/tmp/reports/boussole-1.png",
                                    "alt": "Critère 1, Absence \x1b[2J : conforme."})
    shown = human_text(rendered, "console:agent")
    assert shown.endswith("boussole-1.png\n  (Critère 1, Absence ␛[2J : conforme.)")


# -- scenarios a DPO must be able to trust ------------------------------------------------------------

STREET_CAMERA = {
    "ctx_name": "Caméras de carrefour",
    "ctx_purpose": "Compter piétons et vélos aux carrefours à partir des caméras de rue, pour régler les feux.",
    "ctx_direction": "3",
    "ctx_ai_kind": "2",
    "ctx_supplier": "Logiciel de vidéo-analyse d'un prestataire",
    "ctx_operator": "2",
    "ctx_hosting": "2",
    "ctx_data": "4,6",
    "c2_legal_text": "Code de la route, art. R411-25 ; délibération du conseil métropolitain du 12 avril 2024",
    "c2_dpia": "2",
    "c2_high_risk": "3",
    "c3_problem": "Les feux sont réglés sans connaître la fréquentation réelle ; piétons et cyclistes attendent trop.",
    "c3_indicator": "Temps d'attente moyen des piétons aux carrefours équipés : -30 %",
    "c5_frequency": "3",
    "c6_accountable": "Responsable du service circulation",
    "c7_alternative_what": "Compteurs à boucles magnétiques dans la chaussée",
    "c7_why_better": "Les boucles ne comptent ni les piétons ni les vélos, et coûtent plus cher à poser.",
}


def test_a_street_camera_cannot_pass_criterion_1_on_a_non_to_biometrics(tmp_path):
    out = run_console(tmp_path / "b.db", ["nouveau", *script_for(STREET_CAMERA), "soumettre"])
    assert "error" not in [o["kind"] for o in out]
    noted = [o["text"] for o in out if o["to"] == "agent" and o["kind"] == "warning"]
    assert ("⚠️ Point à vérifier noté — Identification biométrique : réponses contradictoires : Contradiction : "
            "« non » à l'identification biométrique, alors que le contexte indique l'analyse d'images ou de vidéos "
            "de personnes ; à vérifier (un visage ou une silhouette analysés peuvent suffire à identifier).") in noted
    summary = next(o for o in out if o["kind"] == "summary")["text"]
    assert "⚠️ 1. Absence d'identification biométrique et de données sensibles : à vérifier" in summary
    request = next(o for o in out if o["kind"] == "review_request" and o["to"] == "dpo")["text"]
    first = request.split("À lire d'abord :\n")[1].split("\nPoints bloquants")[0].splitlines()
    assert [line.split(" : ")[0] for line in first] == [
        "  Direction", "  Objet", "  Données utilisées", "  Base légale", "  Texte ou délibération", "  Hébergement",
        "  Décisions individuelles"]
    assert first[0] == "  Direction : Mobilités"
    checks = request.split("Points à vérifier, par critère :\n")[1].split("\n✅ 3.")[0]
    assert checks.startswith("⚠️ 1. Absence d'identification biométrique et de données sensibles — à vérifier\n"
                             "    – Analyse d'images de personnes : L'outil analyse des images ou des vidéos de "
                             "personnes")
    assert ("      réponses lues ensemble — Type d'IA : Analyse d'images ou de vidéos ; Données utilisées : Images "
            "ou vidéos de personnes, Données de localisation de personnes (ou de leurs véhicules, téléphones) ; "
            "Identification biométrique : non") in checks
    assert "    – Localisation de personnes : Données de localisation de personnes" in checks
    assert "    – Caractérisation des personnes : réponses contradictoires : Contradiction" in checks
    assert {o["to"] for o in out if o["kind"] == "review_request"} == {"dpo", "rssi", "juriste", "nr"}


def test_a_corrected_blocker_is_followed_up_and_stays_in_the_review_request(tmp_path):
    script = script_for()
    at = [question for question, _text in asked_for()].index("c1_biometric")
    out = run_console(tmp_path / "b.db", ["nouveau", *script[:at], "oui", "corriger", "non", *script[at + 1:],
                                          "soumettre"])
    to_dpo = [o for o in out if o["to"] == "dpo"]
    assert [o["kind"] for o in to_dpo] == ["blocker", "info", "review_request"]
    assert "Point bloquant sur l'évaluation n°1" in to_dpo[0]["text"]
    assert to_dpo[1]["text"].startswith("✅ Évaluation n°1 « Tri du courrier entrant » (demandeur : agent) : le point "
                                        "bloquant « Identification biométrique » est corrigé — réponse « oui » "
                                        "remplacée par « non ».")
    assert ("Points bloquants, actuels et résolus :\n  ✅ Identification biométrique (critère 1) : « oui » corrigé en "
            "« non » — il bloquait : Identification biométrique : exclue par le critère 1 de la doctrine.\n"
            "Points à vérifier, par critère :") in to_dpo[2]["text"]


def _dont_know_throughout() -> dict[str, str]:
    """« je ne sais pas » to every yes/no and choice question but the direction, and to the supplier."""
    from conversations.questionnaire import QuestionType, load_questionnaire
    kinds = (QuestionType.YESNO, QuestionType.CHOICE, QuestionType.MULTI)
    return {q.id: "je ne sais pas" for q in load_questionnaire().questions
            if (q.type in kinds and not q.choices_from) or q.id == "ctx_supplier"}


def test_an_interview_answered_dont_know_throughout_is_complete_and_checked_everywhere(tmp_path):
    dont_know = _dont_know_throughout()
    script = script_for(dont_know)
    out = run_console(tmp_path / "b.db", ["nouveau", *script, "soumettre"])
    assert [o["text"] for o in out if o["kind"] == "error"] == []
    # each one noted, and the level's demand of an agent's judgement, which nobody could say was kept
    warnings = [o["text"] for o in out if o["kind"] == "warning"]
    assert script.count("je ne sais pas") + 1 == len(warnings)
    assert sum("Au niveau d'impact de cet usage, un agent doit" in w for w in warnings) == 1
    summary = next(o for o in out if o["kind"] == "summary")["text"]
    for number in range(1, 8):
        assert f"⚠️ {number}. " in summary, number
    assert "✅" not in summary and "Contexte" not in summary  # nothing passes, nothing is filed under the context
    assert "    – Prestataire ou modèle : Réponse « je ne sais pas » : point à vérifier." in summary
    assert ("    – Pratiques interdites (règlement IA, art. 5) : Pratiques interdites de l'art. 5 du règlement sur "
            "l'IA non vérifiées") in summary
    assert {o["to"] for o in out if o["kind"] == "review_request"} == {"dpo", "rssi", "juriste", "nr"}
    assert any(o["text"].startswith("Évaluation n°1 soumise. Recommandation : favorable, avec des points à vérifier")
               for o in out)


# -------------------------------------------------------------------------- the impact level

def _impact_interview(tmp_path: Path, overrides: dict[str, str]) -> tuple[Path, list[dict]]:
    db = tmp_path / "b.db"
    return db, run_console(db, ["nouveau", *script_for(overrides), "soumettre"])


def _summary_text(out: list[dict]) -> str:
    return next(o for o in out if o["kind"] == "summary" and o["to"] == "agent")["text"]


def test_a_writing_aid_for_agents_emails_is_level_i_or_ii(tmp_path):
    _db, out = _impact_interview(tmp_path, WRITING_AID)
    summary = _summary_text(out)
    assert "Niveau d'impact : I —" in summary or "Niveau d'impact : II —" in summary
    requested = {o["to"] for o in out if o["kind"] == "review_request"}
    assert "juriste" not in requested
    assert all("Niveau d'impact : I" in o["text"] for o in out if o["kind"] == "review_request")


def test_street_cameras_detecting_illegal_dumping_are_level_iii_or_iv(tmp_path):
    _db, out = _impact_interview(tmp_path, DUMPING_CAMERA)
    summary = _summary_text(out)
    assert "Niveau d'impact : III —" in summary or "Niveau d'impact : IV —" in summary
    assert {"juriste", "dpo"} <= {o["to"] for o in out if o["kind"] == "review_request"}


def test_a_scorer_ranking_benefit_applications_is_level_iv_and_needs_legal_review(tmp_path):
    db, out = _impact_interview(tmp_path, BENEFIT_SCORER)
    assert "Niveau d'impact : IV —" in _summary_text(out)
    legal = next(o for o in out if o["kind"] == "review_request" and o["to"] == "juriste")["text"]
    assert "Niveau d'impact : IV — risque 32/40 (80 % du maximum)" in legal
    assert "Réponses qui pèsent le plus : Effets sur les droits et libertés (4/4)" in legal
    # the level's obligation: an agent's judgement in each decision, routed to criterion 6
    assert "Intervention humaine exigée par le niveau d'impact" in legal
    decided = run_console(db, [json.dumps({"as": who, "text": "valider 1 vu"})
                               for who in ("nr", "dpo", "juriste", "rssi")])
    assert any(o["kind"] == "decision" and "validée" in o["text"] for o in decided)
    register = json.loads(subprocess.run([sys.executable, "-m", "bot", "register", "--format", "json", "--db",
                                          str(db)], capture_output=True, text=True, cwd=ROOT, timeout=60,
                                         check=True).stdout)
    entry = register["entries"][0]
    assert entry["impact_level"] == "IV"
    assert entry["impact_detail"].startswith("Niveau d'impact : IV — risque 32/40")


# -- the language follows the person at the terminal (issue 14, finding 8) ------------------------------

def test_the_language_follows_the_person_through_an_identity_switch(tmp_path):
    out = run_console(tmp_path / "b.db", ["langue en", "/as dpo", "aide", "/as agent", "help"])
    to_dpo = [o for o in out if o["to"] == "dpo"]
    assert to_dpo[0]["text"] == "Language: English."
    assert to_dpo[-1]["text"].startswith("Commands available now:") and "Reviewing:" in to_dpo[-1]["text"]
    assert out[-1]["to"] == "agent" and out[-1]["text"].startswith("Commands available now:")
    assert "Reviewing:" not in out[-1]["text"]  # the agent is no reviewer: no reviewer's commands


def test_the_terminals_own_words_follow_the_language(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "console", "--db", str(tmp_path / "b.db")],
                          input="language en\nnew\n/as dpo\n/as nobody!\nhelp\n", capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=True)
    assert 'You are now "dpo".' in done.stdout
    assert "/as NAME: the name may contain only letters, digits and the signs . _ -" in done.stdout
    assert "Vous êtes" not in done.stdout and "message pour" not in done.stdout
    assert "question 1 of about" in done.stdout


def test_misspellings_get_a_suggestion_in_both_languages(tmp_path):
    out = run_console(tmp_path / "b.db", ["nouvau", "langue en", "lisst"])
    assert out[0]["text"] == "Vouliez-vous dire « nouveau » ?"
    assert out[-1]["text"] == 'Did you mean "list"?'


def test_a_reviewer_works_in_english_with_the_english_words(tmp_path):
    """The review desk's commands, typed with their English words by a reviewer reading English, act as the
    French ones do."""
    def review(words: dict[str, str], locale: str) -> list[dict]:
        as_nr = [json.dumps({"as": "nr", "text": text}) for text in (
            f"langue {locale}", words["pending"], f"{words['history']} 1",
            f"{words['changes']} 1 précisez l'indicateur", words["pending"])]
        return run_console(tmp_path / f"{locale}.db", ["nouveau", *script_for_clean_interview(), "soumettre", *as_nr])

    french = review({"pending": "à valider", "history": "historique", "changes": "modifications"}, "fr")
    english = review({"pending": "pending", "history": "history", "changes": "changes"}, "en")
    assert [(o["to"], o["kind"]) for o in french] == [(o["to"], o["kind"]) for o in english]
    to_nr = [o["text"] for o in english if o["to"] == "nr"]
    assert "error" not in [o["kind"] for o in english]
    assert any("no. 1" in text for text in to_nr[1:3]) and "no. 1" not in to_nr[-1]  # listed, then decided

# -------------------------------------------------------------------------- reviews as a city runs them

CITY = """
admins = ["console:admin"]
[roles.dpo]
label = "DPD"
members = ["console:dpo", "console:dpo2", "console:dpo3"]
criteria = [1, 2]
when_answers = { ctx_data = ["personal", "images", "audio", "location"] }
decide = "quorum"
quorum = 2
[roles.juridique]
label = "Direction juridique"
members = ["console:juriste", "console:juriste2"]
criteria = [2, 6]
always = true
decide = "all"
[roles.nr]
label = "Numérique responsable"
members = ["console:nr"]
criteria = [3, 4, 5, 7]
always = true
[review]
stages = [["nr"], ["dpo", "juridique"]]
[directions.numerique]
label = "Direction du numérique"
managers = ["console:manager"]
"""


def _as(who: str, text: str) -> str:
    return json.dumps({"as": who, "text": text})


def _texts(out: list[dict], who: str) -> list[str]:
    return [o["text"] for o in out if o["to"] == who]


def test_a_quorum_an_all_role_and_stages_on_the_terminal(tmp_path):
    config = tmp_path / "city.toml"
    config.write_text(CITY, encoding="utf-8")
    db = tmp_path / "b.db"
    out = run_console(db, ["nouveau", *script_for({"ctx_data": "3"}), "soumettre"], "--config", str(config))
    assert [o["to"] for o in out if o["kind"] == "review_request"] == ["nr"]   # stage 1 only
    out = run_console(db, [_as("dpo", "valider 1"), _as("nr", "valider 1 RAS")], "--config", str(config))
    assert "n'en est pas encore à l'étape de « DPD »" in _texts(out, "dpo")[0]
    assert sorted(o["to"] for o in out if o["kind"] == "review_request") == [
        "dpo", "dpo2", "dpo3", "juriste", "juriste2"]
    assert ("L'étape 2 sur 2 commence : la demande de validation est transmise à DPD, Direction juridique"
            in _texts(out, "agent")[0])
    out = run_console(db, [_as("dpo", "valider 1"), _as("juriste", "valider 1"), _as("dpo2", "valider 1"),
                           _as("dpo3", "valider 1"), _as("juriste2", "réserves 1 revoir la conservation")],
                      "--config", str(config))
    told = _texts(out, "agent")
    assert len(told) == 4  # one message per decision taken (the fifth attempt comes after the quorum)
    assert "Toujours en attente de la décision de : DPD (1/2), Direction juridique (0/2)" in told[0]
    assert "Toujours en attente de la décision de : DPD (1/2), Direction juridique (1/2)" in told[1]
    assert "Toujours en attente de la décision de : Direction juridique (1/2)" in told[2]   # the quorum is met
    assert "Pour votre rôle, dpo2 a déjà pris une décision" in _texts(out, "dpo3")[-1]
    assert told[-1].startswith("✅ juriste2 (Direction juridique) : votre évaluation n°1")
    assert "validée avec réserves — juriste2 — revoir la conservation" in told[-1]


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/Paris")).date()


def test_a_delegate_on_the_terminal_decides_for_an_absent_member_but_not_on_their_own_request(tmp_path):
    db = tmp_path / "b.db"
    start, end = _today(), _today() + dt.timedelta(days=10)
    out = run_console(db, [_as("dpo", f"absent du {start} au {end} remplaçant bob"),
                           "nouveau", *script_for({"ctx_data": "3"}), "soumettre", _as("bob", "valider 1")])
    assert _texts(out, "dpo")[0].startswith(f"Absence enregistrée du {start:%d/%m/%Y} au {end:%d/%m/%Y} : bob reçoit "
                                            "et décide")
    assert sorted(o["to"] for o in out if o["kind"] == "review_request") == ["bob", "nr"]
    assert re.match(r"Décision enregistrée sur l'évaluation n°1\b.* : validation\.$", _texts(out, "bob")[-1])
    bob = [_as("bob", "nouveau"), *(_as("bob", text) for text in script_for({"ctx_data": "3"})),
           _as("bob", "soumettre"), _as("bob", "valider 2"), _as("dpo", "présent"), _as("dpo", "valider 2")]
    out = run_console(db, bob)
    assert {o["to"] for o in out if o["kind"] == "review_request"} == {"dpo", "nr"}  # not to bob, who asks
    assert "Vous ne pouvez pas décider sur votre propre demande (évaluation n°2)." in _texts(out, "bob")
    assert re.match(r"Décision enregistrée sur l'évaluation n°2\b.* : validation\.$", _texts(out, "dpo")[-1])
    history = run_console(db, [_as("admin", "historique 1")])[0]["text"]
    assert "Absence de" not in history  # an absence is not an assessment's
    assert "bob (pour dpo), Délégué à la protection des données (DPD), a validé l'évaluation." in history
    import sqlite3
    with sqlite3.connect(db) as raw:
        detail = raw.execute("SELECT detail FROM audit WHERE action = 'decision' AND actor = 'console:bob'").fetchone()
    assert json.loads(detail[0])["for"] == ["console:dpo"]


def test_reassignment_and_questions_to_the_requester_on_the_terminal(tmp_path):
    db = tmp_path / "b.db"
    out = run_console(db, ["nouveau", *script_for(), "soumettre",
                           _as("nr", "question 1 Quel indicateur suivrez-vous ?"),
                           _as("agent", "réponse 1 Le délai moyen d'orientation."),
                           _as("nr", "réassigner 1 numerique-responsable bob"),
                           _as("admin", "réassigner 1 numerique-responsable bob"),
                           _as("nr", "valider 1"), _as("bob", "valider 1 vu")])
    agent = _texts(out, "agent")
    assert any(t.startswith("❓ nr (Numérique responsable) vous pose une question sur votre évaluation n°1 « Tri du "
                            "courrier entrant » : « Quel indicateur suivrez-vous ? »") for t in agent)
    assert any(t.startswith("💬 agent répond sur l'évaluation n°1") for t in _texts(out, "nr"))
    assert "Seul un administrateur peut réassigner" in _texts(out, "nr")[-3]
    assert "a été confiée à bob" in _texts(out, "nr")[-1]
    assert [o["kind"] for o in out if o["to"] == "bob"] == ["info", "review_request", "info"]
    assert agent[-1].startswith("✅ bob (Numérique responsable) : votre évaluation n°1")
    history = run_console(db, [_as("admin", "historique 1")])[0]["text"]
    for said in ("nr a posé une question au demandeur : « Quel indicateur suivrez-vous ? ».",
                 "agent a répondu aux questions des relecteurs : « Le délai moyen d'orientation. ».",
                 "admin a confié la décision du rôle « Numérique responsable » à bob."):
        assert said in history
    assert "question_asked" not in history


def test_hostile_review_commands_on_the_terminal_are_each_answered_and_nothing_fails(tmp_path):
    db = tmp_path / "b.db"
    start, end = _today(), _today() + dt.timedelta(days=10)
    out = run_console(db, [_as("dpo", f"absent du {start} au {end} remplaçant rssi"),
                           _as("rssi", f"absent du {start} au {end} remplaçant bob"),
                           "nouveau", *script_for({"ctx_data": "3"}), "soumettre",
                           "réponse 1 Une précision : conservation d'un an.",
                           _as("admin", "réassigner 1 numerique-responsable bob"),
                           _as("admin", "réassigner 1 numerique-responsable bob"),
                           _as("admin", "rapport " + "9" * 30 + "x" * 3000),
                           _as("bob", "valider 1")])
    assert sorted(o["to"] for o in out if o["kind"] == "review_request") == ["bob", "bob", "nr"]  # via rssi; nr's
    assert any(t.startswith("💬 agent ajoute une précision sur l'évaluation n°1") for t in _texts(out, "bob"))
    assert "déjà confiée à bob : rien n'a changé" in _texts(out, "admin")[1]
    assert len(_texts(out, "admin")[2]) < 200
    assert _texts(out, "bob")[-1].startswith("Décision enregistrée sur l'évaluation n°1 « Tri du courrier "
                                             "entrant » : validation")
    import sqlite3
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*) FROM audit WHERE action = 'event_failed'").fetchone() == (0,)
        assert raw.execute("SELECT COUNT(*) FROM audit WHERE action = 'review_reassigned'").fetchone() == (1,)


def test_the_dashboard_on_the_terminal_for_a_requester_a_reviewer_and_a_manager(tmp_path):
    config = tmp_path / "city.toml"
    config.write_text(CITY, encoding="utf-8")
    out = run_console(tmp_path / "b.db", [
        "nouveau", *script_for({"ctx_data": "3"}), "soumettre", "tableau",
        _as("nr", "question 1 Quel indicateur suivrez-vous ?"), _as("nr", "tableau"), _as("manager", "tableau"),
        _as("agent", "dashboard")], "--config", str(config))
    boards = [(o["to"], o["text"]) for o in out if o["text"].startswith("🧭 Tableau de bord Boussole")]
    assert [to for to, _text in boards] == ["agent", "nr", "manager", "agent"]
    waiting, reviewer, manager, asked = (text for _to, text in boards)
    assert "n°1 « Tri du courrier entrant » — en cours de validation · attend la décision de : Numérique " \
           "responsable" in waiting
    assert "Mes validations en attente (1)\n  n°1 « Tri du courrier entrant » — Numérique responsable : demandée " \
           "par agent, en attente depuis 0 jour — 1 question posée au demandeur, sans réponse" in reviewer
    assert "Mes validations" not in manager and "Mes directions — Direction du numérique" in manager
    assert "Questions en attente de réponse du demandeur (1)" in manager
    assert "une question d'un relecteur attend votre réponse : « réponse 1 <texte> »" in asked


def test_a_json_line_speaks_only_as_a_name_the_terminal_accepts(tmp_path):
    hostile = ["bob smith", "x" * 10_000, "bob\u202eevil", "", "console:"]
    out = run_console(tmp_path / "b.db", [_as(name, "nouveau") for name in hostile if name] + [_as("bob", "aide")])
    errors = [o["error"] for o in out if "error" in o]
    assert len(errors) == 4 and all(e.startswith('"as": a name of 1 to 64 letters') for e in errors)
    assert [o["to"] for o in out if "to" in o] and {o["to"] for o in out if "to" in o} == {"bob"}
