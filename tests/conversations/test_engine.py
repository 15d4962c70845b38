"""The sans-I/O interview engine: whole interviews, edits, conditions, blockers, commands."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from conversations.answers import Answer
from conversations.commands import Command
from conversations.engine import Outcome, Snapshot, handle, route
from conversations.model import (
    BlockerRaised,
    Conversation,
    ExceptionRequested,
    IllegalTransition,
    Incoming,
    Interview,
    Mode,
    ReplyKind,
    Status,
    Submitted,
    Withdrawn,
)
from conversations.questionnaire import Choice, LocalText, QuestionType
from conversations.rules import Recommendation, applicable_questions
from tests.helpers import CLEAN

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DIRECTIONS = (
    Choice("numerique", LocalText("Numérique", "Digital")),
    Choice("mobilites", LocalText("Mobilités", "Mobility")),
)


class Driver:
    """Holds what storage would hold, so the pure engine can be driven step by step."""

    def __init__(self, questionnaire, user: str = "console:alice", *,
                 directions: tuple[Choice, ...] = DIRECTIONS) -> None:
        self.q = questionnaire
        self.versions: dict = {}
        self.directions = directions
        self.user = user
        self.conversation = Conversation(user)
        self.interviews: dict[int, Interview] = {}
        self.last: Outcome | None = None
        self.n = 0

    def say(self, text: str, *, explicit: bool = False) -> Outcome:
        self.n += 1
        event = Incoming(f"e{self.n}", self.user, text, explicit=explicit)
        drafts = {i: v for i, v in self.interviews.items() if v.status.editable}
        command = route(event, self.conversation, drafts, self.q, directions=self.directions,
                        versions=self.versions)  # once, as the application does
        referenced = self.interviews.get(command.id_argument) if command and command.id_argument else None
        snapshot = Snapshot(
            conversation=self.conversation, questionnaire=self.q, drafts=drafts,
            referenced=referenced, next_id=max(self.interviews, default=0) + 1, directions=self.directions,
            versions=self.versions,
            may_view_referenced=referenced is not None and referenced.requester == self.user,  # the app's rule
        )
        outcome = handle(snapshot, event, NOW, command)
        self.conversation = outcome.conversation
        for interview in outcome.interviews:
            self.interviews[interview.id] = interview
        self.last = outcome
        return outcome

    @property
    def active(self) -> Interview:
        assert self.conversation.active is not None
        return self.interviews[self.conversation.active]

    def pending(self) -> str | None:
        if self.conversation.active is None:
            return None
        interview = self.active
        return None if interview.blocked_on else interview.pending

    def run(self, overrides: dict[str, str] | None = None, stop_at: str | None = None) -> None:
        answers = {**CLEAN, **(overrides or {})}
        for _ in range(80):
            qid = self.pending()
            if qid is None or qid == stop_at:
                return
            self.say(answers[qid])
        raise AssertionError("interview did not end")


@pytest.fixture
def driver(questionnaire) -> Driver:
    return Driver(questionnaire)


def kinds(outcome: Outcome) -> list[str]:
    return [r.kind for r in outcome.replies]


def test_new_interview_asks_the_first_question_with_its_position(driver):
    outcome = driver.say("nouveau")
    assert kinds(outcome) == [ReplyKind.INFO, ReplyKind.QUESTION]
    prompt = outcome.replies[1].prompt
    assert prompt.question.id == "ctx_name" and prompt.number == 1 and prompt.total > 20
    assert driver.conversation.mode is Mode.INTERVIEW
    assert outcome.audit[0].action == "created"
    assert driver.active.questionnaire_version == "2025.1"


def test_whole_clean_interview_then_submit(driver):
    driver.say("nouveau")
    driver.run()
    summary = driver.last.replies[-1]
    assert summary.kind is ReplyKind.SUMMARY and summary.key == "summary.final"
    assert summary.params["summary"].recommendation is Recommendation.FAVOURABLE
    outcome = driver.say("soumettre")
    assert outcome.signals == (Submitted(1),)
    assert driver.interviews[1].status is Status.IN_REVIEW
    assert driver.conversation.mode is Mode.IDLE and driver.conversation.active is None


def test_progress_is_shown_on_every_question(driver):
    driver.say("nouveau")
    driver.run(stop_at="c2_legal_basis")
    outcome = driver.say("retour")
    prompt = outcome.replies[-1].prompt
    assert prompt.criterion.number == 1 and prompt.criteria_total == 7
    assert prompt.number == 20


def test_bad_answer_gets_a_message_and_the_same_question(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    outcome = driver.say("peut-être")
    assert kinds(outcome) == [ReplyKind.ERROR, ReplyKind.QUESTION]
    assert outcome.replies[0].key == "invalid.yesno"
    assert outcome.replies[1].prompt.question.id == "c1_biometric"
    assert "c1_biometric" not in driver.active.answers


def test_too_long_free_text_is_refused_with_the_limit(driver):
    driver.say("nouveau")
    outcome = driver.say("x" * 500)
    assert outcome.replies[0].key == "invalid.text_long" and outcome.replies[0].params["max"] == 120


def test_blocker_is_flagged_at_once_with_three_ways_on(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    outcome = driver.say("oui")
    blocker = outcome.replies[-1]
    assert blocker.kind is ReplyKind.BLOCKER
    assert blocker.params["criterion_number"] == 1
    assert "biométrique" in blocker.params["reasons"][0].fr
    assert blocker.actions == ("fix", "withdraw", "exception")
    assert outcome.signals == (BlockerRaised(1, "c1_biometric", 1),)
    assert [a.action for a in outcome.audit] == ["answer", "blocker_raised"]
    # the interview waits: a plain answer is not taken
    again = driver.say("non")
    assert again.replies[0].key == "error.blocked_choose"


def test_fixing_the_blocking_answer_carries_on(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    driver.say("oui")
    fix = driver.say("corriger")
    assert fix.replies[-1].prompt.question.id == "c1_biometric"
    after = driver.say("non")
    assert after.replies[-1].prompt.question.id == "c1_sensitive"
    assert driver.active.blocked_on is None


def test_exceptional_review_needs_a_justification(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    driver.say("oui")
    driver.say("exception")
    assert driver.conversation.mode is Mode.JUSTIFYING
    short = driver.say("parce que")
    assert short.replies[0].key == "error.justification_length"
    outcome = driver.say("Authentification des agents sur un poste sensible, exigée par l'ANSSI.")
    assert outcome.signals[0] == ExceptionRequested(1, "c1_biometric", "Authentification des agents sur un poste "
                                                                        "sensible, exigée par l'ANSSI.")
    assert driver.conversation.mode is Mode.INTERVIEW
    assert outcome.replies[-1].prompt.question.id == "c1_sensitive"
    driver.run()
    assert driver.last.replies[-1].params["summary"].recommendation is Recommendation.BLOCKED
    submitted = driver.say("soumettre")
    assert driver.interviews[1].status is Status.IN_REVIEW
    assert submitted.audit[0].detail["exceptional"] is True


def test_submit_refused_while_a_blocker_is_unresolved(driver):
    driver.say("nouveau")
    driver.run(stop_at="c6_individual_decision")
    driver.say("3")
    outcome = driver.say("soumettre")
    assert outcome.replies[0].key == "error.submit_blocked"
    assert driver.interviews[1].status is Status.DRAFT


def test_submit_refused_while_incomplete(driver):
    driver.say("nouveau")
    driver.say(CLEAN["ctx_name"])
    outcome = driver.say("soumettre")
    assert outcome.replies[0].key == "error.submit_incomplete"
    assert outcome.replies[0].params["remaining"] > 20


def test_withdraw_asks_for_confirmation(driver):
    driver.say("nouveau")
    driver.say("annuler")
    assert driver.conversation.mode is Mode.CONFIRM_WITHDRAW
    kept = driver.say("non")
    assert kept.replies[0].key == "withdraw.kept" and driver.conversation.mode is Mode.INTERVIEW
    driver.say("annuler")
    done = driver.say("oui")
    assert done.signals == (Withdrawn(1),)
    assert driver.interviews[1].status is Status.WITHDRAWN
    assert driver.conversation.mode is Mode.IDLE


def test_back_then_walk_forward_through_answered_questions(driver):
    driver.say("nouveau")
    driver.run(stop_at="ctx_supplier")
    back = driver.say("retour")
    prompt = back.replies[-1].prompt
    assert prompt.question.id == "ctx_ai_kind" and prompt.current is not None
    driver.say("retour")
    assert driver.active.pending == "ctx_direction"
    keep = driver.say("ok")  # keep the current answer, move to the next answered one
    assert keep.replies[-1].prompt.question.id == "ctx_ai_kind"
    driver.say("1")          # change it
    assert driver.active.answers["ctx_ai_kind"].value == ["generative_text"]
    assert driver.active.pending == "ctx_supplier"


def test_edit_re_asks_questions_whose_condition_changed(driver):
    driver.say("nouveau")
    driver.run()
    assert "c2_dpia" not in driver.active.answers
    asked = applicable_questions(driver.q, driver.active.answers)
    position = next(i for i, q in enumerate(asked, 1) if q.id == "ctx_data")
    driver.say(f"modifier {position}")
    outcome = driver.say("3")  # personal data now: bias testing, the DPIA and the data lifecycle apply
    assert outcome.replies[-1].prompt.question.id == "c1_bias_testing"
    assert driver.say("1").replies[-1].prompt.question.id == "c2_dpia"
    assert driver.say("1").replies[-1].prompt.question.id == "c2_data_lifecycle"
    driver.say("1")
    assert driver.last.replies[-1].kind is ReplyKind.SUMMARY
    # and back again: the DPIA answer no longer applies and is dropped
    driver.say(f"modifier {position}")
    driver.say("2")
    assert "c2_dpia" not in driver.active.answers


def test_edit_with_a_bad_number(driver):
    driver.say("nouveau")
    outcome = driver.say("modifier 99")
    assert outcome.replies[0].key == "error.edit_number"


def test_skip_only_optional_questions(driver):
    driver.say("nouveau")
    refused = driver.say("passer")
    assert refused.replies[0].key == "error.required"
    driver.run(stop_at="c3_indicator")
    skipped = driver.say("passer")
    assert driver.active.answers["c3_indicator"].skipped
    assert skipped.replies[-1].prompt.question.id == "c3_drift"


def test_free_text_that_starts_with_a_command_word_is_an_answer(driver):
    driver.say("nouveau")
    driver.say(CLEAN["ctx_name"])
    driver.say("Modifier les courriers entrants pour les classer par thème")
    assert driver.active.answers["ctx_purpose"].value.startswith("Modifier les courriers")


def test_to_check_is_noted_as_a_warning(driver):
    driver.say("nouveau")
    driver.run(stop_at="c2_ciso")
    outcome = driver.say("non")
    assert kinds(outcome) == [ReplyKind.WARNING, ReplyKind.QUESTION]
    assert "RSSI" in outcome.replies[0].params["reason"].fr


def test_resume_returns_to_the_pending_question(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_bias")
    driver.conversation = Conversation(driver.user)  # as if the user had gone idle elsewhere
    outcome = driver.say("reprendre")
    assert outcome.replies[-1].prompt.question.id == "c1_bias"


def test_summary_mid_interview_then_the_question_again(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    outcome = driver.say("résumé")
    assert outcome.replies[0].key == "summary.partial"
    assert outcome.replies[1].prompt.question.id == "c1_biometric"


def test_help_and_why(driver):
    driver.say("nouveau")
    assert driver.say("aide").replies[0].params["question_help"] is not None
    assert driver.say("pourquoi").replies[0].key == "why"


def test_language_switch(driver):
    driver.say("nouveau")
    outcome = driver.say("language en")
    assert driver.conversation.locale == "en"
    assert outcome.replies[-1].kind is ReplyKind.QUESTION


def test_list_and_status_of_others_refused(driver, questionnaire):
    driver.say("nouveau")
    other = Driver(questionnaire, "console:bob")
    other.interviews = driver.interviews
    outcome = other.say("statut 1")
    assert outcome.replies[0].key == "error.not_found"


def test_not_understood_when_idle(driver):
    assert driver.say("bonjour").replies[0].key == "not_understood"


def test_reevaluation_prefills_previous_answers(driver):
    driver.say("nouveau")
    driver.run()
    driver.say("soumettre")
    driver.interviews[1] = driver.interviews[1].with_status(Status.APPROVED)
    outcome = driver.say("réévaluer 1")
    prompt = outcome.replies[-1].prompt
    assert prompt.from_previous and prompt.current.value == CLEAN["ctx_name"]
    assert driver.active.previous_id == 1
    for _ in range(60):
        if driver.pending() is None:
            break
        driver.say("ok")
    assert driver.last.replies[-1].kind is ReplyKind.SUMMARY
    assert driver.active.answers["ctx_name"].value == CLEAN["ctx_name"]


def test_undeclared_transitions_are_errors():
    with pytest.raises(IllegalTransition):
        Conversation("console:x").to(Mode.JUSTIFYING)
    interview = Interview(1, "console:x", "v")
    with pytest.raises(IllegalTransition):
        interview.with_status(Status.APPROVED)
    withdrawn = dataclasses.replace(interview, status=Status.WITHDRAWN)
    with pytest.raises(IllegalTransition):
        withdrawn.with_status(Status.DRAFT)


def test_the_engine_does_no_io(questionnaire, monkeypatch):
    import builtins
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("the engine must not do I/O")

    driver = Driver(questionnaire)
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    driver.say("nouveau")
    driver.run()
    assert driver.last.replies[-1].kind is ReplyKind.SUMMARY


def test_a_stale_button_answer_is_refused(driver):
    driver.say("nouveau")
    driver.say(CLEAN["ctx_name"])
    outcome = handle_event(driver, Incoming("late", driver.user, "Autre nom", question="ctx_name"))
    assert outcome.replies[0].key == "error.stale_answer"
    assert driver.active.answers["ctx_name"].value == CLEAN["ctx_name"]
    fresh = handle_event(driver, Incoming("ok", driver.user, "Un outil qui classe les courriers",
                                          question="ctx_purpose"))
    assert fresh.replies[-1].prompt.question.id == "ctx_direction"


def handle_event(driver, event):
    drafts = {i: v for i, v in driver.interviews.items() if v.status.editable}
    snapshot = Snapshot(conversation=driver.conversation, questionnaire=driver.q, drafts=drafts,
                        next_id=max(driver.interviews, default=0) + 1, directions=DIRECTIONS)
    outcome = handle(snapshot, event, NOW, route(event, driver.conversation, drafts, driver.q))
    driver.conversation = outcome.conversation
    for interview in outcome.interviews:
        driver.interviews[interview.id] = interview
    return outcome


# -- routing: what a message is depends on what the conversation waits for ---------------------------

def test_a_name_or_a_description_starting_with_a_command_word_is_an_answer(driver):
    driver.say("nouveau")
    named = driver.say("Rapport mensuel des demandes")
    assert named.replies[-1].prompt.question.id == "ctx_purpose"
    described = driver.say("Valider automatiquement les factures fournisseurs")
    assert described.replies[-1].prompt.question.id == "ctx_direction"
    assert driver.active.title == "Rapport mensuel des demandes"
    assert driver.active.answers["ctx_purpose"].value == "Valider automatiquement les factures fournisseurs"
    assert [a.action for a in named.audit + described.audit] == ["answer", "answer"]


def test_navigation_words_alone_still_move_around_a_text_question(driver):
    driver.say("nouveau")
    driver.say(CLEAN["ctx_name"])
    assert driver.say("aide").replies[0].key == "help"
    assert driver.say("pourquoi").replies[0].key == "why"
    back = driver.say("retour")
    assert back.replies[-1].prompt.question.id == "ctx_name"
    driver.run(stop_at="c3_indicator")  # an optional free-text question
    skipped = driver.say("passer")
    assert driver.active.answers["c3_indicator"].skipped
    assert skipped.replies[-1].prompt.question.id == "c3_drift"


def test_an_explicit_command_counts_at_a_text_question_and_a_plain_one_is_the_answer(driver, questionnaire):
    driver.say("nouveau")
    explicit = driver.say("statut 1", explicit=True)
    assert explicit.replies[0].key == "status" and "ctx_name" not in driver.active.answers
    report = route(Incoming("r", driver.user, "rapport 3", explicit=True), driver.conversation,
                   driver.interviews, questionnaire)
    assert report == Command("report", "3")
    # an explicit prefix on what is not a command of that form is still the answer
    driver.say("Rapport mensuel des demandes", explicit=True)
    assert driver.active.title == "Rapport mensuel des demandes"
    plain = route(Incoming("p", driver.user, "rapport 3"), driver.conversation, driver.interviews, questionnaire)
    assert plain is None


def test_commands_are_read_as_typed_when_nothing_free_is_awaited(driver, questionnaire):
    driver.say("nouveau")
    driver.run(stop_at="ctx_direction")  # a choice question
    command = route(Incoming("r", driver.user, "Rapport 3"), driver.conversation, driver.interviews, questionnaire,
                    directions=DIRECTIONS)
    assert command == Command("report", "3")


def test_continue_and_resume_resume_in_english(questionnaire):
    driver = Driver(questionnaire)
    driver.say("nouveau")
    driver.say("language en")
    driver.run(stop_at="c1_bias")
    driver.conversation = Conversation(driver.user, locale="en")  # as if idle elsewhere
    outcome = driver.say("continue 1")
    assert outcome.replies[0].key == "resume.at" and outcome.replies[-1].prompt.question.id == "c1_bias"
    driver.conversation = Conversation(driver.user, locale="en")
    assert driver.say("resume").replies[0].key == "resume.at"
    driver.conversation = Conversation(driver.user)  # in French, "resume" is the summary
    assert driver.say("resume").replies[0].key == "error.no_active"


def test_a_justification_starting_with_a_command_word_is_the_justification(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    driver.say("oui")
    driver.say("exception")
    outcome = driver.say("Rapport de l'ANSSI : authentification forte exigée sur ce poste.")
    assert outcome.signals and isinstance(outcome.signals[0], ExceptionRequested)
    assert driver.conversation.mode is Mode.INTERVIEW


def test_while_a_withdrawal_waits_for_yes_or_no_only_an_explicit_command_counts(driver):
    driver.say("nouveau")
    driver.say("annuler")
    assert driver.say("aide").replies[0].key == "withdraw.explain"
    assert driver.conversation.mode is Mode.CONFIRM_WITHDRAW
    helped = driver.say("aide", explicit=True)
    assert helped.replies[0].key == "help" and driver.conversation.mode is Mode.INTERVIEW
    assert driver.interviews[1].status is Status.DRAFT


def test_a_reviewers_comment_comes_back_as_the_decision_it_completes(questionnaire):
    waiting = Conversation("console:nr", mode=Mode.COMMENTING, pending="request_changes 4")
    comment = Incoming("c", "console:nr", "Valider automatiquement les factures n'est pas admis")
    assert route(comment, waiting, {}, questionnaire) == Command(
        "request_changes", "4 Valider automatiquement les factures n'est pas admis")
    assert route(Incoming("n", "console:nr", "à valider"), waiting, {}, questionnaire) == Command("pending_reviews")
    assert route(Incoming("e", "console:nr", "valider 3", explicit=True), waiting, {}, questionnaire) == Command(
        "approve", "3")


# -- what the bot says it knows -----------------------------------------------------------------------

def test_a_summary_mid_interview_gives_no_recommendation(driver):
    driver.say("nouveau")
    for _ in range(11):
        driver.say(CLEAN[driver.pending()])
    outcome = driver.say("résumé")
    summary = outcome.replies[0].params["summary"]
    assert summary.recommendation is Recommendation.INCOMPLETE
    assert summary.remaining == outcome.replies[0].params["total"] - 11
    assert summary.uncovered == (1, 2, 3, 4, 5, 6, 7)


def test_a_reevaluation_with_nothing_answered_yet_gives_no_recommendation(driver):
    driver.say("nouveau")
    driver.run()
    driver.say("soumettre")
    driver.interviews[1] = driver.interviews[1].with_status(Status.APPROVED)
    driver.say("réévaluer 1")
    summary = driver.say("résumé").replies[0].params["summary"]
    assert summary.recommendation is Recommendation.INCOMPLETE and summary.remaining > 30


def test_a_withdrawn_assessment_shows_no_recommendation(driver):
    driver.say("nouveau")
    driver.run()
    driver.say("annuler")
    driver.say("oui")
    status = driver.say("statut 1").replies[0]
    assert status.key == "status" and status.params["recommendation"] is None


# -- « je ne sais pas » and answers read together ----------------------------------------------------------

def test_dont_know_on_the_prohibited_practices_and_the_supplier_is_taken_and_noted(driver):
    driver.say("nouveau")
    driver.run(stop_at="ctx_supplier")
    supplier = driver.say("je ne sais pas")
    assert [r.key for r in supplier.replies] == ["to_check_noted", "question"]
    assert supplier.replies[0].params["label"].fr == "Prestataire ou modèle"
    driver.run(stop_at="c2_prohibited")
    prohibited = driver.say("je ne sais pas")
    assert [r.key for r in prohibited.replies] == ["to_check_noted", "question"]
    assert driver.active.answers["c2_prohibited"].unknown


def test_the_answer_that_completes_a_contradiction_notes_it_at_once(driver):
    driver.say("nouveau")
    driver.run({"ctx_ai_kind": "2", "ctx_data": "4"}, stop_at="c1_biometric")
    outcome = driver.say("non")
    noted = [r.params["label"].fr for r in outcome.replies if r.key == "to_check_noted"]
    assert noted == ["Identification biométrique : réponses contradictoires"]


def test_correcting_a_blocking_answer_is_a_signal_for_the_reviewers_it_alerted(driver):
    from conversations.model import BlockerCorrected


    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    raised = driver.say("oui")
    assert raised.audit[-1].action == "blocker_raised" and raised.audit[-1].detail["answer"] == {"value": "yes"}
    driver.say("corriger")
    corrected = driver.say("non")
    assert corrected.signals == (BlockerCorrected(1, "c1_biometric", Answer("yes"), Answer("no")),)
    assert driver.say(CLEAN["c1_sensitive"]).signals == ()


# -- the direction ---------------------------------------------------------------------------------------

def test_without_directions_configured_the_direction_is_asked_as_free_text(questionnaire):
    driver = Driver(questionnaire, directions=())
    driver.say("nouveau")
    driver.run(stop_at="ctx_direction")
    prompt = driver.last.replies[-1].prompt
    assert prompt.question.id == "ctx_direction" and prompt.question.type is QuestionType.TEXT
    assert prompt.choices == ()
    named = driver.say("Direction des sports")
    assert named.replies[-1].prompt.question.id == "ctx_ai_kind"
    assert driver.active.direction == "Direction des sports"


def test_an_agent_whose_direction_is_not_listed_chooses_other_and_names_it(driver):
    driver.say("nouveau")
    driver.run(stop_at="ctx_direction")
    prompt = driver.last.replies[-1].prompt
    assert [c.id for c in prompt.choices] == ["numerique", "mobilites", "other"]
    assert prompt.choices[-1].label.fr == "Autre (préciser)"
    other = driver.say("3")
    assert other.replies[-1].prompt.question.id == "ctx_direction_other"
    driver.say("Direction des sports")
    assert driver.active.direction == "Direction des sports"
    assert driver.pending() == "ctx_ai_kind"


# -- versions ----------------------------------------------------------------------------------------------

def test_a_draft_answered_under_an_earlier_version_goes_on_with_its_own_questions(questionnaire):
    from conversations.questionnaire import load_versions

    old = load_versions(questionnaire)["2024.1"]
    driver = Driver(old)
    driver.say("nouveau")
    driver.run(stop_at="c2_legal_basis")
    driver.q, driver.versions = questionnaire, {"2024.1": old}  # the bot restarts with 2025.1
    driver.say(CLEAN["c2_legal_basis"])
    assert driver.pending() == "c2_ciso"  # 2024.1 does not ask for the legal text
    driver.run()
    assert driver.active.questionnaire_version == "2024.1"
    assert "c2_legal_text" not in driver.active.answers
    driver.say("soumettre")
    driver.interviews[1] = driver.interviews[1].with_status(Status.APPROVED)
    driver.say("réévaluer 1")
    assert driver.active.questionnaire_version == "2025.1"
    driver.run(stop_at="c2_legal_text")
    assert driver.pending() == "c2_legal_text"


# -- lenient answers, suggestions, the withdraw confirmation (issue 14, finding 5) ------------------------

def test_a_clear_yes_or_no_is_taken_with_its_punctuation_and_trailing_words(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    outcome = driver.say("non, mais les visages sont floutés")
    assert "error" not in kinds(outcome)
    stored = driver.active.answers["c1_biometric"]
    assert stored.value == "no" and stored.comment == "mais les visages sont floutés"
    answered = next(e for e in outcome.audit if e.action == "answer")
    assert answered.detail["answer"] == {"value": "no", "comment": "mais les visages sont floutés"}
    assert driver.say("OUI !").replies[0].kind is ReplyKind.BLOCKER  # c1_sensitive, answered "yes"


def test_the_withdraw_confirmation_explains_itself_instead_of_looping(driver):
    driver.say("nouveau")
    driver.say("annuler")
    for unclear in ("?", "ça fait quoi ?", "peut-être"):
        explained = driver.say(unclear)
        assert [r.key for r in explained.replies] == ["withdraw.explain"], unclear
        assert explained.replies[0].actions == ("yes", "no")
        assert driver.conversation.mode is Mode.CONFIRM_WITHDRAW and driver.interviews[1].status is Status.DRAFT
    assert driver.say("Non.").replies[0].key == "withdraw.kept"
    driver.say("annuler")
    assert driver.say("OUI !").signals == (Withdrawn(1),)


@pytest.mark.parametrize(("typed", "suggestion", "offered"), [("nouvau", "nouveau", ("new",)),
                                                              ("aidee", "aide", ("help",)),
                                                              ("lsite", "liste", ("list",)),
                                                              ("reprendr 1", "reprendre 1", ())])
def test_a_misspelt_command_gets_did_you_mean_when_idle(driver, typed, suggestion, offered):
    reply = driver.say(typed).replies[0]
    assert reply.key == "did_you_mean" and reply.params == {"suggestion": suggestion} and reply.actions == offered


def test_a_misspelt_choice_or_yes_or_no_gets_did_you_mean_and_the_question_again(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    outcome = driver.say("nn")
    assert outcome.replies[0].params == {"suggestion": "non"}
    assert outcome.replies[-1].prompt.question.id == "c1_biometric"
    assert driver.say("aidee").replies[0].params == {"suggestion": "aide"}
    driver.run(stop_at="c2_legal_basis")
    outcome = driver.say("obligaton légale")
    assert outcome.replies[0].key == "did_you_mean" and outcome.replies[0].params == {"suggestion": "Obligation légale"}
    assert "c2_legal_basis" not in driver.active.answers
    assert driver.say("Contrta").replies[0].params == {"suggestion": "Contrat"}
    assert driver.say("xyzzy").replies[0].key == "invalid.choice"  # nothing close: the usual message


def test_a_suggestion_is_never_made_at_a_free_text_question(driver):
    driver.say("nouveau")
    outcome = driver.say("aidee")  # the project's name
    assert "did_you_mean" not in [r.key for r in outcome.replies]
    assert driver.active.answers["ctx_name"] == Answer("aidee")


def test_a_blocked_interview_suggests_the_way_on_that_was_misspelt(driver):
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    driver.say("oui")
    assert driver.say("corigger").replies[0].params == {"suggestion": "corriger"}
    assert driver.say("quelque chose").replies[0].key == "error.blocked_choose"


# -- English (issue 14, finding 8) ----------------------------------------------------------------------

@pytest.mark.parametrize(("word", "locale"), [("reprendre", None), ("continue", "en")])
def test_resume_with_a_number_counts_at_a_free_text_question_in_both_languages(questionnaire, word, locale):
    driver = Driver(questionnaire)
    driver.say("nouveau")
    driver.say("Tri du courrier entrant")
    driver.say("nouveau", explicit=True)  # a second draft, waiting for its name: a free-text question
    driver.conversation = dataclasses.replace(driver.conversation, locale=locale)
    outcome = driver.say(f"{word} 1")
    assert outcome.replies[0].key == "resume.at" and driver.conversation.active == 1
    assert "ctx_name" not in driver.interviews[2].answers
    driver.say(f"{word} 2")
    driver.say("Rapport mensuel des demandes")
    assert driver.interviews[2].answers["ctx_name"] == Answer("Rapport mensuel des demandes")


def _at(questionnaire, where: str, locale: str | None) -> Driver:
    """A driver in a given state: idle with one draft, at a choice question, or stopped by a blocker."""
    driver = Driver(questionnaire)
    driver.say("nouveau")
    driver.run(stop_at="c1_biometric")
    if where == "blocked":
        driver.say("oui")
    elif where == "idle":
        driver.say("retour")
        driver.conversation = Conversation(driver.user)
    driver.conversation = dataclasses.replace(driver.conversation, locale=locale)
    return driver


@pytest.mark.parametrize("where", ["idle", "question", "blocked"])
def test_every_engine_command_works_with_its_english_word_as_with_its_french_one(questionnaire, where):
    from conversations.commands import COMMANDS, Side
    arguments = {"edit": "3", "status": "1", "reevaluate": "1", "resume": "1", "withdraw": "1", "language": "fr"}
    for name, spec in COMMANDS.items():
        if spec.side is not Side.ENGINE:
            continue
        said = {}
        for locale, word in (("fr", spec.fr[0]), ("en", spec.en[0])):
            driver = _at(questionnaire, where, locale)
            text = f"{word} {arguments[name]}" if name in arguments else word
            outcome = driver.say(text)
            said[locale] = ([r.key for r in outcome.replies], driver.conversation.mode)
        assert said["fr"] == said["en"], (name, where, said)


# -- help and progress (issue 14, finding 9) ------------------------------------------------------------

def test_help_lists_what_can_be_used_now(questionnaire):
    from conversations.commands import Who
    idle = Driver(questionnaire)
    shown = idle.say("aide").replies[0].params["commands"]
    assert "new" in shown and "report" in shown and "help" in shown
    assert not {"back", "confirm", "fix", "exception", "approve"} & set(shown)
    idle.say("nouveau")
    shown = idle.say("aide").replies[0].params["commands"]
    assert {"back", "confirm", "submit", "skip"} <= set(shown) and not {"fix", "exception"} & set(shown)
    idle.run(stop_at="c1_biometric")
    idle.say("oui")
    shown = idle.say("aide", explicit=True).replies[0].params["commands"]
    assert {"fix", "exception", "report"} <= set(shown)
    reviewer = Driver(questionnaire)
    outcome = handle(Snapshot(conversation=reviewer.conversation, questionnaire=questionnaire,
                              audiences=frozenset({Who.REVIEWER})), Incoming("h", reviewer.user, "aide"), NOW,
                     Command("help"))
    assert {"pending_reviews", "approve", "reject"} <= set(outcome.replies[0].params["commands"])


def test_the_total_is_an_estimate_and_an_answer_that_moves_it_says_by_how_much(driver):
    driver.say("nouveau")
    driver.run(stop_at="ctx_data")
    before = len(applicable_questions(driver.q, driver.active.answers))
    prompt = driver.say("3").replies[-1].prompt  # personal data: more questions apply
    after = len(applicable_questions(driver.q, driver.active.answers))
    assert after > before and prompt.total == after and prompt.total_change == after - before
    assert driver.say(CLEAN[driver.pending()]).replies[-1].prompt.total_change == 0
    driver.run(stop_at="c6_register")
    prompt = driver.say("non").replies[-1].prompt  # not in the register: its reason is asked
    assert prompt.question.id == "c6_register_reason" and prompt.total_change == 1
    driver.say("retour")
    assert driver.say("oui").replies[-1].prompt.total_change == -1
