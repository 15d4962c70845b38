"""The command table: one declaration per command, read back by parsing, the engine and the review desk."""

from __future__ import annotations

import pytest

from conversations.commands import COMMANDS, Argument, Command, Purpose, Side, names, parse_command, suggest
from conversations.engine import ENGINE_COMMANDS, HANDLERS

# Every spelling accepted before the table, unaccented as people often type them.
EARLIER_SPELLINGS = {
    "new": ("nouveau", "nouvelle", "new"),
    "resume": ("reprendre", "resume interview"),
    "back": ("retour", "precedent", "back"),
    "edit": ("modifier", "edit", "change"),
    "skip": ("passer", "skip"),
    "summary": ("resume", "resume de l'evaluation", "recap", "résumé", "summary", "synthese"),
    "submit": ("soumettre", "submit", "envoyer"),
    "withdraw": ("annuler", "retirer", "cancel", "withdraw"),
    "help": ("aide", "help", "commandes"),
    "why": ("pourquoi", "why", "pourquoi ?", "why?"),
    "list": ("liste", "list", "mes evaluations"),
    "status": ("statut", "status", "etat"),
    "language": ("langue", "language", "lang"),
    "fix": ("corriger", "fix", "correct"),
    "exception": ("exception", "examen exceptionnel", "exceptional review"),
    "confirm": ("ok", "confirmer", "confirm", "garder", "keep", "="),
    "pending_reviews": ("a valider", "à valider", "pending", "to review", "reviews"),
    "approve": ("valider", "approve", "approuver"),
    "reservations": ("reserves", "reservations", "avec reserves"),
    "request_changes": ("modifications", "changes", "request changes"),
    "reject": ("refuser", "reject", "rejeter"),
    "history": ("historique", "history", "audit"),
    "reevaluate": ("reevaluer", "reevaluate", "re-evaluate"),
    "report": ("rapport", "report", "fiche"),
}


def test_the_engine_and_the_review_desk_answer_exactly_the_commands_of_the_table():
    assert set(HANDLERS) == ENGINE_COMMANDS == names(Side.ENGINE)
    assert names(Side.ENGINE) | names(Side.REVIEW) == set(COMMANDS)
    assert not names(Side.ENGINE) & names(Side.REVIEW)


def test_every_command_has_a_french_and_an_english_word_that_parse_back_to_it():
    for name, spec in COMMANDS.items():
        assert spec.fr and spec.en, name
        for locale, words in (("fr", spec.fr), ("en", spec.en)):
            for word in words:
                assert parse_command(word, locale) == Command(name), (locale, word)
                if spec.argument is not Argument.NONE:
                    assert parse_command(f"{word} 3", locale) == Command(name, "3"), (locale, word)


@pytest.mark.parametrize("name", sorted(EARLIER_SPELLINGS))
def test_the_spellings_accepted_before_still_are(name):
    for spelling in EARLIER_SPELLINGS[name]:
        assert parse_command(spelling) == Command(name), spelling


def test_resume_and_summary_share_a_spelling_the_readers_language_settles():
    assert parse_command("résumé", "en") == Command("summary")  # accents typed are meant
    assert parse_command("resume", "fr") == Command("summary")
    assert parse_command("resume") == Command("summary")        # French when the language is not known
    assert parse_command("resume", "en") == Command("resume")
    assert parse_command("Resume 4", "fr") == Command("resume", "4")  # only "reprendre" takes a number
    assert parse_command("continue 1", "en") == Command("resume", "1")
    assert parse_command("continue") == Command("resume")


def test_longer_spellings_win_and_arguments_keep_their_case():
    assert parse_command("à valider") == Command("pending_reviews")
    assert parse_command("valider 12 Conforme à la doctrine") == Command("approve", "12 Conforme à la doctrine")
    assert parse_command("résumé de l'évaluation") == Command("summary")
    assert parse_command("Tri du courrier entrant") is None
    assert parse_command("   ") is None


def test_a_command_argument_is_read_as_its_kind_expects():
    command = parse_command("refuser n°12 hébergement hors UE")
    assert command is not None and command.id_argument == 12 and command.rest == "hébergement hors UE"
    assert COMMANDS["report"].fits("3") and not COMMANDS["report"].fits("mensuel des demandes")
    assert COMMANDS["approve"].fits("#3 conforme") and not COMMANDS["approve"].fits("automatiquement les factures")
    assert COMMANDS["language"].fits("en") and not COMMANDS["language"].fits("des signes")
    assert COMMANDS["edit"].fits("c3_indicator") and not COMMANDS["edit"].fits("les courriers entrants")
    assert COMMANDS["help"].fits("") and not COMMANDS["help"].fits("moi")


def test_what_transports_offer_is_declared_with_the_command():
    assert {n for n, s in COMMANDS.items() if s.modal} == {"exception", "approve", "reservations", "request_changes",
                                                             "reject"}
    assert {n for n, s in COMMANDS.items() if s.comment_required} == {"reservations", "request_changes", "reject"}
    reactions = [s.reaction for s in COMMANDS.values() if s.reaction]
    assert len(reactions) == len(set(reactions)) == 4
    assert all(s.side is Side.REVIEW and s.argument is Argument.NUMBER_COMMENT
               for s in COMMANDS.values() if s.reaction)


@pytest.mark.parametrize(("typed", "expected"), [
    ("nouvau", ("new", "nouveau")), ("aidee", ("help", "aide")), ("hepl", ("help", "help")),
    ("reprendr 3", ("resume", "reprendre 3")), ("statu 4", ("status", "statut 4")),
    ("a valder", ("pending_reviews", "à valider")), ("corigger", ("fix", "corriger"))])
def test_a_close_misspelling_of_a_command_suggests_it(typed, expected):
    assert suggest(typed) == expected


def test_a_suggestion_is_never_a_guess():
    assert suggest("Tri du courrier entrant") is None
    assert suggest("resum") is None  # "résumé" (summary) and "resume" (continue) are as close
    assert suggest("valdier 12 " + "très bien " * 10) == ("approve", "valider 12")  # a long comment is not repeated


def test_every_command_is_grouped_by_a_purpose_the_help_names():
    assert all(isinstance(spec.group, Purpose) for spec in COMMANDS.values())
    assert COMMANDS["fix"].group is COMMANDS["exception"].group is Purpose.BLOCKER
    assert COMMANDS["report"].group is Purpose.ASSESSMENTS and COMMANDS["approve"].group is Purpose.REVIEW


def test_a_long_text_is_no_misspelling_and_is_not_compared():
    label = "a" * 130
    assert suggest(label[:-1] + "b", [("choice:long", label)]) is None
    assert suggest(label[:99] + "b", [("choice:long", label[:100])]) == ("choice:long", label[:100])
