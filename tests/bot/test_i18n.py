"""Rendering reads the command table: help, action buttons and hints use its words, catalogues only label them."""

from __future__ import annotations

import datetime as dt

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
        assert f"help.who.{spec.who}" in strings, (locale, name)
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
