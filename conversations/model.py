"""Transport-neutral types shared by the engine, the application and the adapters.

An incoming event, a reply to send, and the declared states: the conversation modes and
the assessment lifecycle, each with the transitions it allows. An undeclared transition
raises `IllegalTransition`: it is a bug, never something to log and carry on from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from conversations.answers import Answer
from conversations.questionnaire import Choice, Criterion, Question


class IllegalTransition(RuntimeError):
    """A state change the declared machine does not allow."""


class Status(StrEnum):
    """Lifecycle of an assessment (brief: draft → in review → decided; withdrawn/archived end it)."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    APPROVED_WITH_RESERVATIONS = "approved_with_reservations"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    ARCHIVED = "archived"

    @property
    def editable(self) -> bool:
        return self in (Status.DRAFT, Status.CHANGES_REQUESTED)

    @property
    def approved(self) -> bool:
        return self in (Status.APPROVED, Status.APPROVED_WITH_RESERVATIONS)


STATUS_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.IN_REVIEW, Status.WITHDRAWN}),
    Status.IN_REVIEW: frozenset({Status.APPROVED, Status.APPROVED_WITH_RESERVATIONS,
                                 Status.CHANGES_REQUESTED, Status.REJECTED, Status.WITHDRAWN}),
    Status.CHANGES_REQUESTED: frozenset({Status.IN_REVIEW, Status.WITHDRAWN}),
    Status.APPROVED: frozenset({Status.ARCHIVED, Status.WITHDRAWN}),
    Status.APPROVED_WITH_RESERVATIONS: frozenset({Status.ARCHIVED, Status.WITHDRAWN}),
    Status.REJECTED: frozenset({Status.ARCHIVED}),
    Status.WITHDRAWN: frozenset(),
    Status.ARCHIVED: frozenset(),
}


def check_status_transition(old: Status, new: Status) -> None:
    if new != old and new not in STATUS_TRANSITIONS[old]:
        raise IllegalTransition(f"assessment status {old} cannot become {new}")


class Mode(StrEnum):
    """What the conversation with one user is waiting for."""

    IDLE = "idle"                          # no interview open
    INTERVIEW = "interview"                # an interview is open (asking, blocked or complete)
    JUSTIFYING = "justifying"              # waiting for an exceptional-review justification
    CONFIRM_WITHDRAW = "confirm_withdraw"  # waiting for oui/non before withdrawing
    COMMENTING = "commenting"              # a reviewer's decision waits for its comment


MODE_TRANSITIONS: dict[Mode, frozenset[Mode]] = {
    Mode.IDLE: frozenset({Mode.INTERVIEW, Mode.CONFIRM_WITHDRAW, Mode.COMMENTING}),
    Mode.INTERVIEW: frozenset({Mode.IDLE, Mode.JUSTIFYING, Mode.CONFIRM_WITHDRAW, Mode.COMMENTING}),
    Mode.JUSTIFYING: frozenset({Mode.INTERVIEW, Mode.IDLE}),
    Mode.CONFIRM_WITHDRAW: frozenset({Mode.INTERVIEW, Mode.IDLE}),
    Mode.COMMENTING: frozenset({Mode.INTERVIEW, Mode.IDLE}),
}


@dataclass(frozen=True)
class Conversation:
    """One user's conversation with the bot."""

    user: str
    mode: Mode = Mode.IDLE
    active: int | None = None     # the assessment the user is working on
    target: int | None = None     # the assessment a pending confirmation is about
    locale: str | None = None     # the user's chosen language; None: the configured default
    pending: str | None = None    # COMMENTING: the decision command that waits for its comment

    @property
    def resting_mode(self) -> Mode:
        """Where the conversation goes back to once a pending step is done."""
        return Mode.INTERVIEW if self.active is not None else Mode.IDLE

    def to(self, mode: Mode, **changes: Any) -> Conversation:
        if mode != self.mode and mode not in MODE_TRANSITIONS[self.mode]:
            raise IllegalTransition(f"conversation mode {self.mode} cannot become {mode}")
        return replace(self, mode=mode, **changes)


@dataclass(frozen=True)
class Interview:
    """The answering state of one assessment."""

    id: int
    requester: str
    questionnaire_version: str
    status: Status = Status.DRAFT
    answers: Mapping[str, Answer] = field(default_factory=dict)
    pending: str | None = None        # question being asked; None when every question is answered
    revisiting: bool = False          # walking forward through answered questions after `retour`
    blocked_on: str | None = None     # question whose blocker waits for a way on
    exceptions: Mapping[str, str] = field(default_factory=dict)   # question id → justification
    previous: Mapping[str, Answer] = field(default_factory=dict)  # re-evaluation: answers to confirm
    previous_id: int | None = None    # re-evaluation: the assessment it renews
    created_at: str = ""

    def with_status(self, status: Status) -> Interview:
        check_status_transition(self.status, status)
        return replace(self, status=status)

    @property
    def title(self) -> str | None:
        name = self.answers.get("ctx_name")
        return name.value if name and isinstance(name.value, str) else None

    @property
    def direction(self) -> str | None:
        """The direction's configured name, or the name the agent typed (no directions, or « Autre »)."""
        direction = self.answers.get("ctx_direction")
        if direction is None or not isinstance(direction.value, str):
            return None
        named = self.answers.get("ctx_direction_other")
        if direction.value == "other" and named is not None and isinstance(named.value, str):
            return named.value
        return direction.value


@dataclass(frozen=True)
class Brief:
    """One line of a user's list of assessments."""

    id: int
    title: str | None
    status: Status
    updated_at: str
    next_review_at: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A message from a user, as every transport delivers it once translated."""

    id: str            # the transport's event id: a retried delivery carries the same one
    user: str          # transport identity: console:alice, slack:U123, matrix:@a:server
    text: str
    question: str | None = None   # the question a button or reaction answered; stale ones are refused
    explicit: bool = False        # sent as a command (a slash command, a prefix, a button): a command word wins


class ReplyKind(StrEnum):
    QUESTION = "question"
    BLOCKER = "blocker"
    WARNING = "warning"
    INFO = "info"
    ERROR = "error"
    SUMMARY = "summary"
    REVIEW_REQUEST = "review_request"
    DECISION = "decision"
    REMINDER = "reminder"
    DIGEST = "digest"


@dataclass(frozen=True)
class Prompt:
    """Everything a transport needs to show a question and its ways to answer."""

    question: Question
    choices: tuple[Choice, ...]
    number: int            # position among the questions that apply (1-based)
    total: int             # an estimate: the questions that apply, which the answers may open or close
    criterion: Criterion
    criteria_total: int
    current: Answer | None = None   # answer already given, or the previous one in a re-evaluation
    from_previous: bool = False     # `current` comes from the assessment being renewed
    total_change: int = 0           # how many questions the last answer opened (> 0) or closed (< 0)


@dataclass(frozen=True)
class Reply:
    """A message to one recipient: a catalogue key and its parameters, rendered per locale."""

    to: str
    kind: ReplyKind
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    assessment: int | None = None
    prompt: Prompt | None = None
    actions: tuple[str, ...] = ()   # commands offered as buttons or numbered shortcuts


@dataclass(frozen=True)
class BlockerRaised:
    assessment: int
    question_id: str
    criterion: int


@dataclass(frozen=True)
class BlockerCorrected:
    """A blocking answer answered again without that blocker: the reviewers alerted hear of it."""

    assessment: int
    question_id: str
    previous: Answer
    answer: Answer


@dataclass(frozen=True)
class ExceptionRequested:
    assessment: int
    question_id: str
    justification: str


@dataclass(frozen=True)
class Submitted:
    assessment: int


@dataclass(frozen=True)
class Withdrawn:
    assessment: int


Signal = BlockerRaised | BlockerCorrected | ExceptionRequested | Submitted | Withdrawn


@dataclass(frozen=True)
class AuditEntry:
    action: str
    assessment: int | None
    detail: Mapping[str, Any] = field(default_factory=dict)


def utc_iso(moment: dt.datetime) -> str:
    """The one text form of instants in storage: UTC, seconds, ISO 8601."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC instant")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")
