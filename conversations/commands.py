"""The command language users type, declared once: one table every part of Boussole reads.

Each command has one `CommandSpec`: its canonical name, its French and English words (the
first of each is the one shown), the argument it takes, who it is for, which side answers it
(the interview engine or the review desk), whether it is a way around that counts even while
a free-text answer is awaited (navigation), and how transports offer it (button, Slack modal,
Matrix reaction). Parsing, help, action buttons, Slack modals and Matrix reactions all read
`COMMANDS`.

`parse_command("modifier 5")` gives `Command("edit", "5")`; text that is not a command gives
None. Whether a command in a text counts (or the text is an answer) depends on what the
conversation waits for: `conversations.engine.route` decides that.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from conversations.answers import closest, fold

SHORT_WORD = 12  # characters: a language code, a question number or id ("c3_indicator")
SUGGESTION_LENGTH = 120  # characters: a misspelt command or choice label is short; a longer text is no typo


class Argument(StrEnum):
    """What may follow a command's word."""

    NONE = "none"
    NUMBER = "number"                  # an assessment number: `statut 12`
    NUMBER_COMMENT = "number_comment"  # an assessment number, then a comment: `refuser 12 hors doctrine`
    WORD = "word"                      # one short word: a language code, a question number or id
    TEXT = "text"                      # words the command reads itself: `absent du … au … remplaçant …`


class Who(StrEnum):
    """Whom a command is for; it groups the help, it grants nothing (the review desk checks roles)."""

    ANYONE = "anyone"
    REQUESTER = "requester"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Purpose(StrEnum):
    """What a command is for: the help groups commands by it, and shows a group only when it is of use."""

    INTERVIEW = "interview"       # while an interview is open: answering and moving around
    BLOCKER = "blocker"           # while a blocker stops the interview
    ASSESSMENTS = "assessments"   # one's own assessments, whatever the moment
    REVIEW = "review"             # a reviewer's work
    ADMIN = "admin"
    GENERAL = "general"


# A command declared without a purpose is grouped by whom it is for.
PURPOSE_OF_WHO = {Who.REQUESTER: Purpose.ASSESSMENTS, Who.REVIEWER: Purpose.REVIEW, Who.ADMIN: Purpose.ADMIN,
                  Who.ANYONE: Purpose.GENERAL}


class Side(StrEnum):
    """Which part of the application answers a command."""

    ENGINE = "engine"   # the interview engine (conversations.engine)
    REVIEW = "review"   # the review desk (bot.review), which reads and writes reviews


@dataclass(frozen=True)
class CommandSpec:
    name: str                      # canonical name: handlers, catalogue keys (action.<name>, help.<name>)
    fr: tuple[str, ...]            # French words, the first one shown
    en: tuple[str, ...]            # English words, the first one shown
    argument: Argument = Argument.NONE
    argument_required: bool = False
    comment_required: bool = False  # a decision that waits for its comment when none is given
    who: Who = Who.REQUESTER
    side: Side = Side.ENGINE
    navigation: bool = False       # a way around: counts even while a free-text answer is awaited (see fits)
    button: bool = True            # offered as a button when a reply lists it among its actions
    modal: bool = False            # Slack: its button opens a modal for a comment or a justification first
    reaction: str | None = None    # Matrix: the reaction that sends it on a review request
    purpose: Purpose | None = None  # the help's group; by default the one of `who`

    def word(self, locale: str | None) -> str:
        """The word shown to someone who reads `locale`."""
        return self.en[0] if locale == "en" else self.fr[0]

    @property
    def group(self) -> Purpose:
        return self.purpose or PURPOSE_OF_WHO.get(self.who, Purpose.GENERAL)

    @property
    def takes_number(self) -> bool:
        return self.argument in (Argument.NUMBER, Argument.NUMBER_COMMENT)

    def fits(self, argument: str) -> bool:
        """Whether `argument` has the form this command expects (no argument always fits)."""
        words = argument.split()
        if not words:
            return True
        if self.argument is Argument.NUMBER:
            return len(words) == 1 and _number(words[0]) is not None
        if self.argument is Argument.NUMBER_COMMENT:
            return _number(words[0]) is not None
        if self.argument is Argument.WORD:
            return len(words) == 1 and len(words[0]) <= SHORT_WORD
        return self.argument is Argument.TEXT


def _decision(name: str, fr: tuple[str, ...], en: tuple[str, ...], *, reaction: str,
              comment_required: bool = True) -> CommandSpec:
    """A reviewer's decision: `valider 12 [commentaire]`, offered as a modal and as a reaction."""
    return CommandSpec(name, fr, en, argument=Argument.NUMBER_COMMENT, argument_required=True,
                       comment_required=comment_required, who=Who.REVIEWER, side=Side.REVIEW, modal=True,
                       reaction=reaction)


def _table(*specs: CommandSpec) -> Mapping[str, CommandSpec]:
    table: dict[str, CommandSpec] = {}
    for spec in specs:
        if spec.name in table or not spec.fr or not spec.en:
            raise ValueError(f"command '{spec.name}': declared twice, or without a French and an English word")
        table[spec.name] = spec
    return MappingProxyType(table)


COMMANDS: Mapping[str, CommandSpec] = _table(
    # -- the interview -------------------------------------------------------------------------------
    CommandSpec("new", ("nouveau", "nouvelle"), ("new",)),
    CommandSpec("resume", ("reprendre",), ("continue", "resume", "resume interview"), argument=Argument.NUMBER,
                navigation=True),
    CommandSpec("back", ("retour", "précédent"), ("back",), navigation=True, purpose=Purpose.INTERVIEW),
    CommandSpec("edit", ("modifier",), ("edit", "change"), argument=Argument.WORD, argument_required=True,
                navigation=True, button=False, purpose=Purpose.INTERVIEW),
    CommandSpec("skip", ("passer",), ("skip",), navigation=True, purpose=Purpose.INTERVIEW),
    CommandSpec("summary", ("résumé", "résumé de l'évaluation", "récap", "synthèse"), ("summary",), navigation=True,
                purpose=Purpose.INTERVIEW),
    CommandSpec("why", ("pourquoi", "pourquoi ?"), ("why", "why?"), navigation=True, purpose=Purpose.INTERVIEW),
    CommandSpec("confirm", ("ok", "confirmer", "garder", "="), ("ok", "confirm", "keep"), navigation=True,
                purpose=Purpose.INTERVIEW),
    CommandSpec("fix", ("corriger",), ("fix", "correct"), navigation=True, purpose=Purpose.BLOCKER),
    CommandSpec("exception", ("exception", "examen exceptionnel"), ("exception", "exceptional review"), modal=True,
                purpose=Purpose.BLOCKER),
    CommandSpec("submit", ("soumettre", "envoyer"), ("submit",), navigation=True, purpose=Purpose.INTERVIEW),
    CommandSpec("withdraw", ("annuler", "retirer"), ("withdraw", "cancel"), argument=Argument.NUMBER,
                navigation=True),
    CommandSpec("list", ("liste", "mes évaluations"), ("list",)),
    CommandSpec("status", ("statut", "état"), ("status",), argument=Argument.NUMBER, argument_required=True),
    CommandSpec("reevaluate", ("réévaluer",), ("reevaluate", "re-evaluate"), argument=Argument.NUMBER,
                argument_required=True),
    # -- everyone ------------------------------------------------------------------------------------
    CommandSpec("help", ("aide", "commandes"), ("help",), who=Who.ANYONE, navigation=True),
    CommandSpec("language", ("langue",), ("language", "lang"), argument=Argument.WORD, argument_required=True,
                who=Who.ANYONE, navigation=True, button=False),
    CommandSpec("history", ("historique",), ("history", "audit"), argument=Argument.NUMBER, argument_required=True,
                who=Who.ANYONE, side=Side.REVIEW, purpose=Purpose.ASSESSMENTS),
    CommandSpec("report", ("rapport", "fiche"), ("report",), argument=Argument.NUMBER, argument_required=True,
                who=Who.ANYONE, side=Side.REVIEW, purpose=Purpose.ASSESSMENTS),
    # -- reviewers -----------------------------------------------------------------------------------
    CommandSpec("pending_reviews", ("à valider",), ("pending", "to review", "reviews"), who=Who.REVIEWER,
                side=Side.REVIEW, navigation=True),
    _decision("approve", ("valider", "approuver"), ("approve",), reaction="✅", comment_required=False),
    _decision("reservations", ("réserves", "avec réserves"), ("reservations",), reaction="⚠️"),
    _decision("request_changes", ("modifications",), ("changes", "request changes"), reaction="📝"),
    _decision("reject", ("refuser", "rejeter"), ("reject",), reaction="❌"),
    # -- everyone: the dashboard (bot.dashboard, answered beside the review desk) -----------------------
    CommandSpec("dashboard", ("tableau", "tableau de bord"), ("dashboard",), who=Who.ANYONE, side=Side.REVIEW),
    # -- reviews: absences, reassignment, questions to the requester ----------------------------------
    CommandSpec("away", ("absent", "absente"), ("away",), argument=Argument.TEXT, argument_required=True,
                who=Who.REVIEWER, side=Side.REVIEW, button=False),
    CommandSpec("present", ("présent", "présente", "de retour"), ("back at work", "present", "i'm back"),
                who=Who.REVIEWER, side=Side.REVIEW, button=False),
    CommandSpec("ask", ("question",), ("question", "ask"), argument=Argument.TEXT, argument_required=True,
                who=Who.REVIEWER, side=Side.REVIEW, button=False),
    CommandSpec("reply", ("réponse", "répondre"), ("reply",), argument=Argument.TEXT, argument_required=True,
                who=Who.REQUESTER, side=Side.REVIEW, button=False),
    CommandSpec("reassign", ("réassigner",), ("reassign",), argument=Argument.TEXT, argument_required=True,
                who=Who.ADMIN, side=Side.REVIEW, button=False),
)


def names(side: Side) -> frozenset[str]:
    """The canonical names of the commands one side answers."""
    return frozenset(name for name, spec in COMMANDS.items() if spec.side is side)


def _number(word: str) -> int | None:
    """An assessment number as people write it: `12`, `n°12`, `#12`."""
    digits = word.lstrip("#").removeprefix("n°").removeprefix("no")
    return int(digits) if is_assessment_number(digits) else None


MAX_ASSESSMENT_NUMBER = 2**63 - 1  # SQLite's largest integer


def is_assessment_number(digits: str) -> bool:
    """ASCII digits within SQLite's integer range: `²`, `①` or `٣` are digits to Python, not numbers here."""
    return digits.isascii() and digits.isdigit() and int(digits) <= MAX_ASSESSMENT_NUMBER


@dataclass(frozen=True)
class Command:
    name: str
    argument: str = ""

    @property
    def spec(self) -> CommandSpec:
        return COMMANDS[self.name]

    @property
    def id_argument(self) -> int | None:
        """The assessment number the argument starts with (`12`, `n°12`, `#12`), if any."""
        head = self.argument.split(maxsplit=1)[0] if self.argument else ""
        return _number(head)

    @property
    def rest(self) -> str:
        """The argument after a leading assessment number (a reviewer's comment)."""
        parts = self.argument.split(maxsplit=1)
        if self.id_argument is not None:
            return parts[1].strip() if len(parts) > 1 else ""
        return self.argument.strip()


@dataclass(frozen=True)
class _Spelling:
    spec: CommandSpec
    language: str
    text: str   # as declared, accents included


# folded spelling → every command it may name (a few spellings fold alike: "résumé" and "resume")
_SPELLINGS: dict[str, list[_Spelling]] = {}
for _spec in COMMANDS.values():
    for _language, _words in (("fr", _spec.fr), ("en", _spec.en)):
        for _word in _words:
            _SPELLINGS.setdefault(fold(_word), []).append(_Spelling(_spec, _language, _word))
_LONGEST = max(len(folded.split()) for folded in _SPELLINGS)


def _accented(text: str) -> bool:
    return any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", text))


def _pick(typed: str, candidates: list[_Spelling], locale: str | None) -> CommandSpec:
    """The command a spelling names when several fold alike.

    Accents typed are meant ("résumé" is the summary); without them the reader's language decides
    ("resume" is the French summary, the English for "reprendre"), French when it is not known."""
    if _accented(typed):
        exact = [c for c in candidates if unicodedata.normalize("NFC", c.text.lower()) == typed]
        if exact:
            return exact[0].spec
    language = "en" if locale == "en" else "fr"
    own = [c for c in candidates if c.language == language]
    return (own or candidates)[0].spec


def parse_command(text: str, locale: str | None = None) -> Command | None:
    """Recognise a command at the start of `text`; longer spellings win ('à valider' over 'valider').

    `locale` is the reader's language: it settles the few spellings two commands share."""
    words = text.split()
    if not words:
        return None
    whole = fold(text)
    if whole in _SPELLINGS:
        typed = unicodedata.normalize("NFC", " ".join(words).lower())
        return Command(_pick(typed, _SPELLINGS[whole], locale).name)
    for size in range(min(_LONGEST, len(words) - 1), 0, -1):
        head = words[:size]
        candidates = [c for c in _SPELLINGS.get(fold(" ".join(head)), []) if c.spec.argument is not Argument.NONE]
        if candidates:
            typed = unicodedata.normalize("NFC", " ".join(head).lower())
            return Command(_pick(typed, candidates, locale).name, " ".join(words[size:]))
    return None


def command_spellings() -> list[tuple[str, str]]:
    """(command name, spelling) for every word of every command, both languages: what a typo is compared with."""
    return [(spec.name, word) for spec in COMMANDS.values() for word in (*spec.fr, *spec.en)]


def suggest(text: str, others: Iterable[tuple[str, str]] = ()) -> tuple[str, str] | None:
    """A close misspelling of a command ("nouvau", "reprendr 3") or of one of `others` ((key, spelling) pairs:
    the choices of the question asked): the command's name or the other's key, and what to type instead.

    The first word or two are compared with the words of commands that take an argument, when the rest has
    the argument's form; then the whole text with every command's words and `others`. None when nothing is
    close enough or when two are equally close."""
    words = text.split()
    if not words or len(text) > SUGGESTION_LENGTH:
        return None
    for size in range(1, min(2, len(words) - 1) + 1):
        rest = " ".join(words[size:])
        fitting = [(spec.name, word) for spec in COMMANDS.values() if spec.argument is not Argument.NONE
                   and spec.fits(rest) for word in (*spec.fr, *spec.en)]
        found = closest(" ".join(words[:size]), fitting)
        if found is not None:
            name, word = found
            shown = rest if len(rest) <= SHORT_WORD else rest.split()[0]  # a long comment is not repeated
            return name, f"{word} {shown}"
    return closest(text, [*command_spellings(), *others])
