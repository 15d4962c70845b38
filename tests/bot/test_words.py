"""The words people read in chat: French agreement, typography, no internal codes, the configured time zone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.i18n import LOCALES, catalogue, render
from conversations.model import Reply, ReplyKind, Status
from tests.helpers import Chat, submitted

NR, JURISTE, DPO = "console:nr", "console:juriste", "console:dpo"
# A status glued as a masculine word after « l'évaluation est » / « elle est »: "est refusé", "est retiré"…
MASCULINE = re.compile(r"\b(?:est|était)(?: désormais)? (?:validé|refusé|retiré|archivé|clos|modifications)\b(?!e)")
CODES = re.compile(r"\b(?:c\d_\w+|ctx_\w+|imp_\w+|in_review|changes_requested|approved_with_reservations|"
                   r"request_changes|decision_refused|review_requested|reviewers_alerted)\b|\['|\{'")
DOUBLED = re.compile(r"«\s*«|»\s*»|\"\s*\"\w")


def _templates(locale: str) -> list[tuple[str, str]]:
    strings = catalogue(locale)
    return [(key, strings.template(key, count)) for key in strings for count in
            ((1, 2) if key in strings.counters else (None,))]


@pytest.mark.parametrize("locale", LOCALES)
def test_no_message_has_a_double_space_inside_or_doubled_quotes(locale):
    for key, text in _templates(locale):
        for line in text.split("\n"):
            assert "  " not in line.lstrip(" "), (key, line)  # a leading indent is layout; inside, a typo
        assert not DOUBLED.search(text), (key, text)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_title_is_never_quoted_again_nor_spaced_twice(locale):
    """`{title}` comes quoted and with its own leading space (Translator.title_suffix), or empty."""
    for key, text in _templates(locale):
        if key == "list.item":  # the one place a missing title reads « (sans nom) »: stripped, then spaced
            continue
        assert not re.search(r"[«\"] ?\{title\}|\{title\} ?[»\"]| \{title\}", text), (key, text)


@pytest.mark.parametrize("status", [s.value for s in Status])
def test_every_status_agrees_with_levaluation(status):
    for key in ("error.not_editable", "error.not_withdrawable", "error.reevaluate_status", "review.closed",
                "review.refused.not_in_review"):
        params = {"id": 1, "title": "Assistant", "status": status, "reviewer": "console:bob", "by": "console:bob"}
        text = render(Reply("console:a", ReplyKind.INFO, key, params, 1), "fr").text
        assert not MASCULINE.search(text), text
        assert status not in text and not CODES.search(text), text


@pytest.mark.parametrize(("status", "expected"), [
    ("rejected", "L'évaluation n°1 « Assistant » est désormais refusée (décision prise par bob)"),
    ("changes_requested", "L'évaluation n°1 « Assistant » est renvoyée au demandeur pour modifications (décision "
                          "prise par bob)"),
    ("approved", "L'évaluation n°1 « Assistant » est désormais validée (décision prise par bob)"),
    ("approved_with_reservations", "est désormais validée avec réserves (décision prise par bob)")])
def test_a_closed_review_request_has_one_message_per_outcome(status, expected):
    params = {"id": 1, "title": "Assistant", "status": status, "reviewer": "console:bob"}
    assert expected in render(Reply("console:a", ReplyKind.INFO, "review.closed", params, 1), "fr").text


def test_the_reevaluation_intro_quotes_the_title_once_in_both_languages():
    params = {"id": 4, "source": 3, "title": "Assistant de rédaction"}
    reply = Reply("console:a", ReplyKind.INFO, "reevaluation.started", params, 4)
    assert render(reply, "fr").text.startswith("Réévaluation n°4 de l'usage n°3 « Assistant de rédaction » : chaque")
    assert render(reply, "en").text.startswith('Re-evaluation no. 4 of use no. 3 "Assistant de rédaction": each')
    untitled = render(Reply("console:a", ReplyKind.INFO, "reevaluation.started", {**params, "title": ""}, 4), "fr")
    assert untitled.text.startswith("Réévaluation n°4 de l'usage n°3 : chaque")


def _read(rendered: list) -> str:
    return "\n".join(r.text for r in rendered)


def _check_words(text: str) -> None:
    for line in text.split("\n"):
        assert "  " not in line.lstrip(" "), line
    assert not DOUBLED.search(text), text
    assert not MASCULINE.search(text), text
    assert not CODES.search(text), CODES.search(text)


async def test_a_whole_review_reads_without_codes_typos_or_wrong_agreement(app):
    chat = Chat(app)
    n = await submitted(chat, {"c2_ciso": "non"})
    await chat.say(f"refuser {n} hébergement non conforme", user=JURISTE)
    await chat.say(f"valider {n}", user=DPO)  # too late: refused, with the status in words
    await chat.say("mes évaluations")
    await chat.say(f"statut {n}")
    await chat.say(f"modifier {n}")
    await chat.say(f"historique {n}")
    await chat.say(f"historique {n}", user=DPO)
    await chat.say("à valider", user=DPO)
    text = _read(chat.inbox)
    _check_words(text)
    assert "elle est refusée (décision prise par juriste)" in text
    assert f"Évaluation n°{n} « Tri du courrier entrant » : refusée." in text


async def test_an_exceptional_review_is_named_by_its_questions_label_everywhere(app):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.answer_all({}, stop_at="c1_biometric")
    await chat.say("oui")
    await chat.say("exception")
    await chat.say("Contrôle d'accès d'un local sensible, obligation réglementaire de sûreté.")
    await chat.answer_all({})
    await chat.say("résumé")
    await chat.say("soumettre")
    await chat.say("historique 1", user=DPO)
    text = _read(chat.inbox)
    _check_words(text)
    assert "Examen exceptionnel demandé (Identification biométrique) : « Contrôle d'accès" in text
    assert "a demandé un examen exceptionnel pour « Identification biométrique »" in text


async def test_a_withdrawal_and_a_changes_request_read_in_agreement(app):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"modifications {n} précisez l'indicateur", user=NR)
    await chat.say(f"annuler {n}")
    await chat.say("oui")
    await chat.say(f"annuler {n}")
    await chat.say(f"statut {n}")
    text = _read(chat.inbox)
    _check_words(text)
    assert f"L'évaluation n°{n} est retirée : elle ne peut pas être retirée." in text


# -- the catalogues themselves, read as an editor would ---------------------------------------------------------

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Participles that would say the status of a feminine « évaluation » in the masculine.
MASCULINE_PARTICIPLES = ("validé", "refusé", "retiré", "archivé", "clos", "soumis", "modifié", "renvoyé", "envoyé",
                         "bloqué", "terminé", "transmis", "corrigé", "tranché", "complété", "examiné", "lu", "reçu",
                         "décidé", "approuvé", "rejeté", "réévalué")
FEMININE_PARTICIPLES = tuple(f"{word}e" for word in MASCULINE_PARTICIPLES if not word.endswith("e"))
AUXILIARY = r"\b(?:est|était|sera|serait|soit|a été|avait été|être)\s+(?:(?:désormais|déjà|plus|pas|encore|bien)\s+)*"
ABOUT_AN_ASSESSMENT = re.compile(r"(?:\b[Ll]'évaluation|\b[ÉE]valuation|\b[Ee]lle)\b([^.;:!?,—]*)")
ABOUT_A_USE = re.compile(r"\b[Ll]'usage\b([^.;:!?,—]*)")
# Words a French reader must never meet in the French catalogue (outside « quoted » commands and {placeholders}).
ENGLISH_WORDS = frozenset({
    "the", "and", "or", "of", "to", "is", "are", "was", "with", "for", "your", "you", "please", "review", "reviewer",
    "request", "requester", "assessment", "approved", "rejected", "withdrawn", "pending", "draft", "none", "error",
    "failed", "delegate", "report", "record", "use", "status", "changes", "blocker", "summary", "help", "back",
    "submit", "click", "yes", "no", "ok"})
# One thing, one word: what each catalogue calls its people and objects, and the synonyms it must not drift to.
FORBIDDEN_SYNONYMS = {
    "fr": ("valideur", "validateur", "approbateur", "examinateur", "réviseur", "requérant", "suppléant", "délégué",
           "projet d'usage", "le rapport", "un rapport", "du rapport", "statut de validation", "réservations"),
    "en": ("validator", "approver", "examiner", "applicant", "deputy", "substitute", " evaluation no.", "record of",
           "the record", "a record", "reservation ", "use case"),
}


def _sentences(text: str) -> str:
    """The text a reader sees of a template: placeholders out, « quoted » commands and examples out."""
    text = PLACEHOLDER.sub(" ", text)
    return re.sub(r"«[^«»]*»|\"[^\"]*\"|\[[^\]]*\]|<[^<>]*>", " ", text)


def test_a_message_about_levaluation_agrees_in_the_feminine():
    wrong = []
    for key, text in _templates("fr"):
        for match in ABOUT_AN_ASSESSMENT.finditer(PLACEHOLDER.sub("X", text)):
            if _participle(ABOUT_AN_ASSESSMENT, match.group(0)) in MASCULINE_PARTICIPLES:
                wrong.append((key, match.group(0)))
    assert not wrong, wrong


def test_a_message_about_lusage_agrees_in_the_masculine():
    wrong = []
    for key, text in _templates("fr"):
        for match in ABOUT_A_USE.finditer(PLACEHOLDER.sub("X", text)):
            if _participle(ABOUT_A_USE, match.group(0)) in FEMININE_PARTICIPLES:
                wrong.append((key, match.group(0)))
    assert not wrong, wrong


def _participle(subject: re.Pattern[str], text: str) -> str:
    about = subject.search(text)
    said = re.search(AUXILIARY + r"(\w+)\b", about.group(1)) if about else None
    return said.group(1) if said else ""


def test_the_agreement_checks_would_catch_the_mistakes_once_shipped():
    assert _participle(ABOUT_AN_ASSESSMENT, "L'évaluation n°1 est désormais refusé.") in MASCULINE_PARTICIPLES
    assert _participle(ABOUT_AN_ASSESSMENT, "Elle ne peut plus être modifié.") in MASCULINE_PARTICIPLES
    assert _participle(ABOUT_AN_ASSESSMENT, "L'évaluation n°1 est retirée.") not in MASCULINE_PARTICIPLES
    assert _participle(ABOUT_A_USE, "l'usage n°3 doit être réévaluée") in FEMININE_PARTICIPLES


@pytest.mark.parametrize("locale", LOCALES)
def test_no_message_glues_a_plural_or_a_gender_on(locale):
    for key, text in _templates(locale):
        assert not re.search(r"\w\((?:s|e|es|x)\)|\(e\)s?\b|\w·e\b|\w\.e\.s?\b", text), (key, text)


def test_the_french_catalogue_holds_no_english_word():
    for key, text in _templates("fr"):
        words = set(re.findall(r"[A-Za-zÀ-ÿ']+", _sentences(text)))
        assert not words & ENGLISH_WORDS, (key, sorted(words & ENGLISH_WORDS))


def test_the_english_catalogue_holds_no_french_word_nor_french_quotes():
    french = {"évaluation", "usage", "demandeur", "relecteur", "remplaçant", "réserves", "le", "la", "les", "de",
              "du", "et", "ou", "est", "pour", "avec", "votre"}
    for key, text in _templates("en"):
        assert "«" not in text and "»" not in text, (key, text)
        words = set(re.findall(r"[A-Za-zÀ-ÿ]+", _sentences(text)))
        assert not words & french, (key, sorted(words & french))


@pytest.mark.parametrize("locale", LOCALES)
def test_one_thing_has_one_name_throughout(locale):
    for key, text in _templates(locale):
        lowered = _sentences(text).lower()
        for synonym in FORBIDDEN_SYNONYMS[locale]:
            assert synonym not in lowered, (key, synonym, text)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_message_shows_an_internal_code(locale):
    for key, text in _templates(locale):
        seen = _sentences(text)
        assert not re.search(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b", seen), (key, text)
        assert not CODES.search(seen), (key, text)


def test_french_punctuation_keeps_one_convention():
    """A plain space before « : ; ? ! » and inside « », as every French message does; never a straight quote."""
    for key, text in _templates("fr"):
        seen = PLACEHOLDER.sub("X", text)
        assert not re.search(r"[^\s\d][:;?!](?=\s|$)", seen.replace("console:", "")), (key, text)
        assert not re.search(r"«(?! )|(?<! )»", text), (key, text)
        assert '"' not in text, (key, text)


def test_english_punctuation_has_no_space_before_a_colon_or_a_question_mark():
    for key, text in _templates("en"):
        assert not re.search(r"\s[:;?!](?=\s|$)", PLACEHOLDER.sub("X", text)), (key, text)
        assert not re.search(r"\d %", text) and not re.search(r"\} %", text), (key, text)



def test_the_catalogue_checks_catch_what_they_guard():
    """Each check above fails on the mistake it names, so a passing run means something."""
    assert re.search(r"[^\s\d][:;?!](?=\s|$)", "Langue: français")
    assert re.search(r"«(?! )|(?<! )»", "«oui»")
    assert re.search(r"\s[:;?!](?=\s|$)", "Language : English")
    assert set(re.findall(r"[A-Za-zÀ-ÿ']+", _sentences("Décision enregistrée : approved pour « ok »"))) & ENGLISH_WORDS
    assert not set(re.findall(r"[A-Za-zÀ-ÿ']+", _sentences("Tapez « ok » ou {review}"))) & ENGLISH_WORDS
    assert re.search(r"\w\((?:s|e|es|x)\)|\(e\)s?\b|\w·e\b|\w\.e\.s?\b", "1 usage(s) validé·e")
    assert re.search(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b", _sentences("Examen exceptionnel demandé (c1_sensitive)"))

@pytest.mark.parametrize("decision", ["approve", "reservations", "request_changes", "reject"])
def test_a_decision_reads_as_a_noun_in_every_sentence_that_names_it(decision):
    params = {"id": 1, "title": "Assistant", "reviewer": "console:bob", "roles": "DPD", "decision": decision,
              "comment": "", "waiting": "RSSI", "by": "console:bob", "stage": 2, "stages": 2}
    for key in ("review.recorded", "review.decision", "review.role_decided", "review.refused.already_decided",
                "review.comment_prompt"):
        text = render(Reply("console:a", ReplyKind.INFO, key, params, 1), "fr").text
        assert not re.search(r"(?:: |« )(?:validé|refusé|modifications demandées)\b", text), text
        assert catalogue("fr")[f"decision.{decision}"] in text, text


# -- the time zone ------------------------------------------------------------------------------------------------

def _config(tmp_path: Path, text: str):
    path = tmp_path / "boussole.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_timezone_defaults_to_paris_and_the_digest_follows_it(tmp_path):
    assert _config(tmp_path, "").timezone == "Europe/Paris"
    config = _config(tmp_path, 'timezone = "America/Cayenne"\n[digest]\ncron = "0 9 * * mon"\n')
    assert config.timezone == "America/Cayenne" and config.digest.timezone == "America/Cayenne"
    assert str(config.zone) == "America/Cayenne"
    assert _config(tmp_path, 'timezone = "Indian/Reunion"\n').digest.timezone == "Indian/Reunion"


def test_the_digest_may_keep_its_own_zone(tmp_path):
    config = _config(tmp_path, 'timezone = "America/Cayenne"\n[digest]\ntimezone = "Europe/Paris"\n')
    assert config.timezone == "America/Cayenne" and config.digest.timezone == "Europe/Paris"


@pytest.mark.parametrize("text", ['timezone = "Europe/Nantes"\n', '[digest]\ntimezone = "Mars/Olympus"\n'])
def test_an_unknown_zone_is_refused_with_what_to_write(tmp_path, text):
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, text)
    assert "unknown time zone" in str(caught.value) and 'such as "Europe/Paris"' in str(caught.value)


async def test_chat_dates_are_in_the_configured_zone(app, config, questionnaire, clock):
    from bot.app import Boussole
    chat = Chat(app)
    n = await submitted(chat)
    clock.now = clock.now.replace(hour=23, minute=30)  # 00:30 the next day in Paris, 18:30 in New York
    await chat.say(f"valider {n}", user=NR)
    async with app.db.reading() as tx:
        trail = await tx.audit_trail(n)
    assert trail[-1].at.startswith("2026-03-02T23:30")
    paris = (await chat.say(f"historique {n}"))[0].text
    assert "03/03/2026 00:30 — nr, Numérique responsable, a validé l'évaluation." in paris
    elsewhere = Boussole(config=config.model_copy(update={"timezone": "America/New_York"}),
                         questionnaire=questionnaire, db=app.db, clock=clock)
    new_york = (await Chat(elsewhere).say(f"historique {n}"))[0].text
    assert "02/03/2026 18:30 — nr, Numérique responsable, a validé l'évaluation." in new_york


def test_the_dpia_choice_agrees_with_its_feminine_noun(questionnaire):
    from conversations.questionnaire import load_versions
    for version in load_versions(questionnaire).values():
        labels = [c.label.fr for c in version.question("c2_dpia").choices]
        assert "Non requise, justification validée par le DPD" in labels, version.version
        assert not [label for label in labels if "justifié" in label]


def test_an_instant_typed_on_the_command_line_is_read_in_the_configured_zone():
    import datetime as dt
    from zoneinfo import ZoneInfo

    from bot.cli import in_zone
    typed = dt.datetime(2027, 6, 1, 9, 0)
    assert in_zone(typed, ZoneInfo("Europe/Paris")) == dt.datetime(2027, 6, 1, 7, 0, tzinfo=dt.UTC)
    assert in_zone(typed, ZoneInfo("America/Cayenne")) == dt.datetime(2027, 6, 1, 12, 0, tzinfo=dt.UTC)
    offset = dt.datetime(2027, 6, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert in_zone(offset, ZoneInfo("America/Cayenne")) == dt.datetime(2027, 6, 1, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("typed", ["« Assistant de rédaction »", "\"Assistant de rédaction\"",
                                   "  Assistant   de rédaction ", "«Assistant de rédaction»",
                                   "“Assistant de rédaction”"])
def test_a_title_typed_with_its_own_quotes_is_quoted_once(typed):
    reply = Reply("console:a", ReplyKind.INFO, "resume.at", {"id": 4, "title": typed}, 4)
    assert render(reply, "fr").text == "Reprise de l'évaluation n°4 « Assistant de rédaction »."
    assert render(reply, "en").text == 'Resuming assessment no. 4 "Assistant de rédaction".'


def test_a_title_of_quotes_or_spaces_only_reads_as_no_title():
    for typed in ("«»", "  ", "« »"):
        reply = Reply("console:a", ReplyKind.INFO, "resume.at", {"id": 4, "title": typed}, 4)
        assert render(reply, "fr").text == "Reprise de l'évaluation n°4."


async def test_english_readers_get_no_codes_either(app):
    chat = Chat(app)
    await chat.say("language en")
    n = await submitted(chat, {"c2_ciso": "non"})
    await chat.say(f"refuser {n} hébergement non conforme", user=JURISTE)
    await chat.say("list")
    await chat.say(f"status {n}")
    await chat.say(f"history {n}")
    text = _read([r for r in chat.inbox if r.to == chat.user])
    _check_words(text)
    assert f'Assessment no. {n} "Tri du courrier entrant": rejected.' in text
    assert "juriste, Direction juridique, rejected the assessment: \"hébergement non conforme\"." in text
