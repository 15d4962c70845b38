"""Property-based tests: whatever people type, in whatever order, the interview never fails, always answers,
and loses nothing it holds."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.commands import COMMANDS, parse_command
from conversations.engine import route
from conversations.model import Conversation, Incoming, Mode
from conversations.questionnaire import load_questionnaire
from conversations.rules import is_applicable
from tests.conversations.test_engine import Driver
from tests.helpers import CLEAN

# Digits of other scripts, superscripts, circled numbers, numbers beyond SQLite's integers.
ODD_NUMBERS = ["²", "①", "٣", "߂", "9" * 30, "-1", "0", "#0", "n°²", "1e9", "1_000", " 12 ", "12a"]
WORDS = sorted({word for spec in COMMANDS.values() for word in (*spec.fr, *spec.en)})
ANSWERS = sorted(set(CLEAN.values()) | {"oui", "non", "?", "je ne sais pas", "1", "2", "1,2", "=", "ok"})
ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
LONG_LINE = st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\x1b", "\u202e", "\n", "0"]),
                      st.integers(min_value=100, max_value=5000))


def command_text(word: str, argument: str) -> str:
    return f"{word} {argument}".strip()


MESSAGES = st.one_of(
    st.builds(command_text, st.sampled_from(WORDS),
              st.one_of(st.just(""), st.sampled_from(ODD_NUMBERS), st.integers(0, 10**25).map(str), ODD_TEXT)),
    st.sampled_from(ANSWERS),
    ODD_TEXT,
    LONG_LINE,
)


@settings(max_examples=400, deadline=None)
@given(MESSAGES)
def test_reading_a_command_never_fails(text):
    command = parse_command(text)
    if command is not None:
        assert command.name in COMMANDS
        number = command.id_argument
        assert number is None or 0 <= number < 2**63


@settings(max_examples=300, deadline=None)
@given(MESSAGES, st.sampled_from(list(Mode)), st.booleans())
def test_routing_never_fails_in_any_mode(text, mode, explicit):
    conversation = Conversation("console:alice", mode, pending="reject 1" if mode is Mode.COMMENTING else None)
    route(Incoming("e", "console:alice", text, explicit=explicit), conversation, {}, QUESTIONNAIRE)


QUESTIONNAIRE = load_questionnaire()
NAVIGATION = {"help", "why", "summary", "list", "status", "language", "pending_reviews", "history", "report"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(st.tuples(MESSAGES, st.booleans()), min_size=1, max_size=25))
def test_any_sequence_of_messages_is_answered_and_loses_nothing(questionnaire, messages):
    driver = Driver(questionnaire)
    driver.say("nouveau")
    for text, explicit in messages:
        before = {i: dict(v.answers) for i, v in driver.interviews.items()}
        drafts = {i: v for i, v in driver.interviews.items() if v.status.editable}
        command = route(Incoming("probe", driver.user, text, explicit=explicit), driver.conversation, drafts,
                        questionnaire)
        outcome = driver.say(text, explicit=explicit)
        assert any(r.to == driver.user for r in outcome.replies), text  # every message gets an answer
        if command is not None and command.name in NAVIGATION:  # reading and navigating change no answer
            assert {i: dict(v.answers) for i, v in driver.interviews.items()} == before, text
        for number, answers in before.items():  # an answer goes only when its question no longer applies
            now = driver.interviews[number].answers
            for question_id in set(answers) - set(now):
                assert not is_applicable(questionnaire.question(question_id), now), (text, question_id)
        active = driver.interviews.get(driver.conversation.active) if driver.conversation.active else None
        if active is not None and active.pending is not None and active.blocked_on is None \
                and driver.conversation.mode is Mode.INTERVIEW:
            # The pending question can always be answered: "I don't know" or its clean answer moves on or says why.
            question = questionnaire.question(active.pending)
            trial = Driver(questionnaire, driver.user)
            trial.conversation, trial.interviews = driver.conversation, dict(driver.interviews)
            reply = trial.say(CLEAN.get(question.id, "?"))
            assert reply.replies and all(r.to == driver.user for r in reply.replies)
