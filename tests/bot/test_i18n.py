"""Rendering reads the command table: help, action buttons and hints use its words, catalogues only label them."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.i18n import LOCALES, catalogue, render
from conversations.commands import COMMANDS, Argument
from conversations.engine import Snapshot, handle, route
from conversations.model import Conversation, Incoming, Reply, ReplyKind


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_labels_and_explains_every_command_of_the_table(locale):
    strings = catalogue(locale)
    for name, spec in COMMANDS.items():
        assert f"help.{name}" in strings, (locale, name)
        if spec.button:
            assert f"action.{name}" in strings, (locale, name)
        if spec.argument is Argument.WORD:
            assert f"help.arg.{name}" in strings, (locale, name)
        assert f"help.group.{spec.group}" in strings, (locale, name)
    assert not [key for key in strings if key.startswith("command.")]  # the words are the table's


@pytest.mark.parametrize(("locale", "expected"), [("fr", ("corriger", "exception", "rapport <n°>", "ok", "à valider")),
                                                  ("en", ("fix", "exception", "report <no.>", "ok", "continue [no.]"))])
def test_help_lists_every_command_in_the_readers_words(locale, expected):
    text = render(Reply("console:a", ReplyKind.INFO, "help", {"question_help": None}), locale).text
    for spec in COMMANDS.values():
        assert f"  {spec.word(locale)}" in text, (locale, spec.name)
    for words in expected:
        assert f"  {words}" in text


@pytest.mark.parametrize("locale", LOCALES)
def test_action_buttons_send_the_tables_word_with_the_assessment_when_it_takes_one(locale):
    offered = tuple(name for name, spec in COMMANDS.items() if spec.button)
    rendered = render(Reply("console:a", ReplyKind.INFO, "withdraw.done", {"id": 7}, 7, None,
                            (*offered, "yes", "no")), locale)
    sent = {a["name"]: a["command"] for a in rendered.actions}
    for name in offered:
        spec = COMMANDS[name]
        assert sent[name] == (f"{spec.word(locale)} 7" if spec.takes_number else spec.word(locale)), name
    assert sent["yes"] == catalogue(locale)["answer.yes"]
    for action in rendered.actions:
        assert action["label"] == catalogue(locale)[f"action.{action['name']}"]


def test_a_question_recalls_the_tables_words(questionnaire):
    snapshot = Snapshot(conversation=Conversation("console:a", locale="en"), questionnaire=questionnaire)
    event = Incoming("e1", "console:a", "new")
    outcome = handle(snapshot, event, dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
                     route(event, snapshot.conversation, {}, questionnaire))
    question = render(outcome.replies[-1], "en")
    assert question.hint is not None and "Also: why · back · summary · help" in question.hint
    french = render(outcome.replies[-1], "fr")
    assert french.hint is not None and "Aussi : pourquoi · retour · résumé · aide" in french.hint


def _steps(questionnaire, texts: list[str], locale: str | None = None):
    """Run the engine on messages as the application would (the demo directions): each text with its outcome."""
    from tests.helpers import DIRECTIONS

    conversation = Conversation("console:a", locale=locale)
    interviews: dict = {}
    for n, text in enumerate(texts):
        event = Incoming(f"e{n}", "console:a", text)
        drafts = {i: v for i, v in interviews.items() if v.status.editable}
        command = route(event, conversation, drafts, questionnaire, directions=DIRECTIONS)
        referenced = interviews.get(command.id_argument) if command and command.id_argument else None
        snapshot = Snapshot(conversation=conversation, questionnaire=questionnaire, drafts=drafts,
                            referenced=referenced, next_id=max(interviews, default=0) + 1, directions=DIRECTIONS,
                            may_view_referenced=referenced is not None and referenced.requester == event.user)
        outcome = handle(snapshot, event, dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), command)
        conversation = outcome.conversation
        interviews.update({i.id: i for i in outcome.interviews})
        yield text, outcome


def _driven(questionnaire, texts: list[str], locale: str | None = None):
    """The replies to the last of `texts`."""
    *_, (_text, outcome) = _steps(questionnaire, texts, locale)
    return outcome.replies


def _first_answers(count: int) -> list[str]:
    from tests.adapters.test_console import script_for
    return script_for()[:count]


@pytest.mark.parametrize(("locale", "expected"), [
    ("fr", "Incomplète — 29 questions restantes ; critères pas encore couverts : 1, 2, 3, 4, 5, 6, 7. "
           "Pas de recommandation avant la fin de l'entretien."),
    ("en", "Incomplete — 29 questions left; criteria not yet covered: 1, 2, 3, 4, 5, 6, 7. "
           "No recommendation before the interview ends.")])
def test_a_summary_after_11_answers_says_incomplete_and_recommends_nothing(questionnaire, locale, expected):
    replies = _driven(questionnaire, ["nouveau", *_first_answers(11), "résumé" if locale == "fr" else "summary"],
                      locale)
    summary = render(replies[0], locale)
    assert summary.key == "summary.partial" and expected in summary.body
    assert "favorable" not in summary.body and "favourable" not in summary.body


def test_a_withdrawn_assessment_shows_no_recommendation(questionnaire):
    from tests.adapters.test_console import script_for
    replies = _driven(questionnaire, ["nouveau", *script_for(), "annuler", "oui", "statut 1"])
    assert render(replies[0], "fr").body == "Évaluation n°1 « Tri du courrier entrant » : retirée."


def test_each_finding_shows_the_label_of_its_question(questionnaire):
    from tests.adapters.test_console import script_for
    replies = _driven(questionnaire, ["nouveau", *script_for({"ctx_hosting": "?", "c5_lighter": "?"})])
    summary = render(replies[-1], "fr").body.splitlines()
    legal = summary.index("⚠️ 2. Conformité juridique et cybersécurité : à vérifier")
    assert summary[legal + 1] == "    – Hébergement : Réponse « je ne sais pas » : point à vérifier."
    sober = summary.index("⚠️ 5. Sobriété énergétique : à vérifier")
    assert summary[sober + 1] == "    – Option plus sobre étudiée : Réponse « je ne sais pas » : point à vérifier."
    assert not any(line.startswith("⚠️ Contexte") for line in summary)  # hosting is criterion 2's, not context's


def test_both_catalogues_hold_the_same_messages_with_the_same_parameters():
    french, english = catalogue("fr"), catalogue("en")
    assert set(french) == set(english), set(french) ^ set(english)
    for key in french:
        assert french.counters.get(key) == english.counters.get(key), key
        for count in (0, 1, 2):
            fields = [set(re.findall(r"\{(\w+)", c.template(key, count))) for c in (french, english)]
            assert fields[0] == fields[1], key


@pytest.mark.parametrize("locale", LOCALES)
def test_no_message_glues_a_plural_on_with_brackets(locale):
    strings = catalogue(locale)
    for key in strings:
        for count in (0, 1, 2):
            text = strings.template(key, count)
            assert not re.search(r"\w\((s|e|es|x)\)", text), (locale, key, text)


@pytest.mark.parametrize(("locale", "count", "expected"), [
    ("fr", 0, "0 jour."), ("fr", 1, "1 jour."), ("fr", 2, "2 jours."),
    ("en", 0, "0 days"), ("en", 1, "1 day."), ("en", 2, "2 days")])
def test_plural_forms_follow_each_language(locale, count, expected):
    text = render(Reply("console:a", ReplyKind.INFO, "reminder.idle", {"id": 3, "title": "", "days": count}, 3), locale)
    assert expected in text.text


# -- the interview's words (issue 14, findings 5, 8, 9) -------------------------------------------------

def _help(commands: list[str], locale: str) -> list[str]:
    reply = Reply("console:a", ReplyKind.INFO, "help", {"question_help": None, "commands": commands,
                                                        "interview_open": True})
    return render(reply, locale).text.splitlines()


@pytest.mark.parametrize(("locale", "groups"), [
    ("fr", ["Pendant l'entretien :", "Face au point bloquant :", "Vos évaluations :", "Relecture :", "Général :"]),
    ("en", ["During the interview:", "About the blocker:", "Your assessments:", "Reviewing:", "General:"])])
def test_help_groups_the_commands_by_purpose_in_aligned_columns(locale, groups):
    lines = _help(list(COMMANDS), locale)
    assert [line for line in lines if line in groups] == groups
    rows = [line for line in lines if line.startswith("  ")]
    assert len(rows) == len(COMMANDS)
    columns = {len(re.match(r"  (\S+(?: \S+)*)\s{3,}", row).group(0)) for row in rows}  # type: ignore[union-attr]
    assert len(columns) == 1, rows  # every description starts in the same column
    fix = next(row for row in rows if row.startswith(f"  {COMMANDS['fix'].word(locale)} "))
    assert fix.split(maxsplit=1)[1] == catalogue(locale)["help.fix"]


def test_help_shows_only_the_groups_it_is_given():
    lines = _help(["new", "help"], "fr")
    assert lines[0] == "Commandes disponibles maintenant :"
    assert [line.split()[0] for line in lines if line.startswith("  ")] == ["nouveau", "aide"]
    assert "Relecture :" not in lines and "Pendant l'entretien :" not in lines


@pytest.mark.parametrize(("locale", "first", "added", "removed"), [
    ("fr", "question 21 sur environ", "(votre réponse ajoute 3 questions)", "(votre réponse retire 1 question)"),
    ("en", "question 21 of about", "(your answer adds 3 questions)", "(your answer removes 1 question)")])
def test_the_question_count_is_an_estimate_and_says_why_it_moved(questionnaire, locale, first, added, removed):
    from dataclasses import replace

    from conversations.model import Prompt
    question = questionnaire.question("c1_bias")
    prompt = Prompt(question=question, choices=question.choices, number=21, total=35,
                    criterion=questionnaire.criterion(1), criteria_total=7)
    reply = Reply("console:a", ReplyKind.QUESTION, "question", {}, 1, prompt)
    heading = render(reply, locale).heading or ""
    assert f"{first} 35" in heading and "\n" not in heading
    assert render(replace(reply, prompt=replace(prompt, total_change=3)), locale).heading == f"{heading}\n{added}"
    assert render(replace(reply, prompt=replace(prompt, total_change=-1)), locale).heading == f"{heading}\n{removed}"


def test_a_yes_or_no_is_shown_with_the_words_typed_after_it(questionnaire):
    from bot.i18n import Translator
    from conversations.answers import Answer
    question = questionnaire.question("c1_biometric")
    assert Translator("fr").answer(question, Answer("no", comment="mais les visages sont floutés")) == \
        "non — mais les visages sont floutés"
    assert Translator("en").answer(question, Answer("no")) == "no"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_interview_never_shows_an_internal_code(questionnaire, locale):
    """Every reply of an interview with typos, a blocker, an exception, a withdrawal and help: no question or
    choice id in anything a person reads."""
    from tests.adapters.test_console import asked_for
    from tests.helpers import DIRECTIONS
    script = ["nouvau", "nouveau"]
    for question_id, typed in asked_for({"c1_biometric": "oui, mais floutée"}):
        script += ["aidee", typed] if question_id == "c1_bias" else [typed]
        if question_id == "c1_biometric":
            script += ["exception", "Les visages sont floutés à la source, aucune donnée n'est gardée.", "aide"]
    script += ["résumé", "annuler", "?", "non", "statut 1", "liste", "aide"]
    codes = {q.id for q in questionnaire.questions} | {c.id for q in questionnaire.questions for c in q.choices
                                                       if "_" in c.id} | {c.id for c in DIRECTIONS if "_" in c.id}
    for text, outcome in _steps(questionnaire, script, locale):
        for reply in outcome.replies:
            shown = render(reply, locale).text
            leaked = [code for code in codes if re.search(rf"\b{re.escape(code)}\b", shown)]
            assert not leaked, (text, reply.key, leaked, shown)


def test_a_previous_answer_whose_choice_is_gone_is_not_shown_by_its_id(questionnaire):
    from conversations.answers import Answer
    from conversations.model import Prompt
    question = questionnaire.question("c2_legal_basis")
    prompt = Prompt(question=question, choices=question.choices, number=21, total=35,
                    criterion=questionnaire.criterion(2), criteria_total=7, current=Answer("old_basis"),
                    from_previous=True)
    body = render(Reply("console:a", ReplyKind.QUESTION, "question", {}, 1, prompt), "fr").body
    assert "old_basis" not in body and "dernière évaluation" not in body
    kept = Prompt(question=question, choices=question.choices, number=21, total=35,
                  criterion=questionnaire.criterion(2), criteria_total=7, current=Answer("contract"),
                  from_previous=True)
    assert "Réponse lors de la dernière évaluation : Contrat" in render(
        Reply("console:a", ReplyKind.QUESTION, "question", {}, 1, kept), "fr").body
