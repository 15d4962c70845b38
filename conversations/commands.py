"""The command language users type, in French with English aliases.

`parse_command("modifier 5")` gives `Command("edit", "5")`; text that is not a command
gives None and is read as an answer. The same grammar serves every transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from conversations.answers import fold

# canonical name → every accepted spelling (folded: lower case, no accents)
ALIASES: dict[str, tuple[str, ...]] = {
    "new": ("nouveau", "nouvelle", "new"),
    "resume": ("reprendre", "resume"),
    "back": ("retour", "precedent", "back"),
    "edit": ("modifier", "edit", "change"),
    "skip": ("passer", "skip"),
    "summary": ("resume de l'evaluation", "recap", "résumé", "summary", "synthese"),
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
    # review side
    "pending_reviews": ("a valider", "pending", "to review", "reviews"),
    "approve": ("valider", "approve", "approuver"),
    "reservations": ("reserves", "reservations", "avec reserves"),
    "request_changes": ("modifications", "changes", "request changes"),
    "reject": ("refuser", "reject", "rejeter"),
    "history": ("historique", "history", "audit"),
    "reevaluate": ("reevaluer", "reevaluate", "re-evaluate"),
    "report": ("rapport", "report", "fiche"),
}

# The one command that is also a plain word of the summary request: "résumé" folds to
# "resume", which is also the English for "reprendre". French wins: the bot speaks French.
_FOLDED: dict[str, str] = {}
for _name, _spellings in ALIASES.items():
    for _spelling in _spellings:
        _FOLDED.setdefault(fold(_spelling), _name)
_FOLDED["resume"] = "summary"
_FOLDED["reprendre"] = "resume"
_FOLDED["resume interview"] = "resume"

TAKES_ARGUMENT = {"resume", "edit", "status", "language", "approve", "reservations", "request_changes",
                  "reject", "history", "reevaluate", "report", "withdraw"}
NEEDS_ARGUMENT = {"edit", "status", "language", "reservations", "request_changes", "reject",
                  "history", "reevaluate", "report"}


MAX_ASSESSMENT_NUMBER = 2**63 - 1  # SQLite's largest integer


def is_assessment_number(digits: str) -> bool:
    """ASCII digits within SQLite's integer range: `²`, `①` or `٣` are digits to Python, not numbers here."""
    return digits.isascii() and digits.isdigit() and int(digits) <= MAX_ASSESSMENT_NUMBER


@dataclass(frozen=True)
class Command:
    name: str
    argument: str = ""

    @property
    def id_argument(self) -> int | None:
        """The assessment number the argument starts with (`12`, `n°12`, `#12`), if any."""
        head = self.argument.split(maxsplit=1)[0] if self.argument else ""
        digits = head.lstrip("#").removeprefix("n°").removeprefix("no")
        return int(digits) if is_assessment_number(digits) else None

    @property
    def rest(self) -> str:
        """The argument after a leading assessment number (a reviewer's comment)."""
        parts = self.argument.split(maxsplit=1)
        if self.id_argument is not None:
            return parts[1].strip() if len(parts) > 1 else ""
        return self.argument.strip()


@lru_cache(maxsize=256)  # a step reads its text twice (the application routes, the engine answers)
def parse_command(text: str) -> Command | None:
    """Recognise a command at the start of `text`; longer spellings win ('à valider' over 'valider')."""
    stripped = text.strip()
    folded = fold(stripped)
    if not folded:
        return None
    if folded in _FOLDED:
        return Command(_FOLDED[folded])
    words = folded.split(" ")
    raw_words = stripped.split()
    for size in (3, 2, 1):
        if len(words) <= size:
            continue
        head = " ".join(words[:size])
        name = _FOLDED.get(head)
        if name in TAKES_ARGUMENT:
            return Command(name, " ".join(raw_words[size:]))
    return None
