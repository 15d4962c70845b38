"""What the city's config says about impact levels, as the sans-I/O core reads it.

The thresholds that turn a risk score into a level I–IV, the mitigation that lowers it, and the
obligations of each level that answers can fail to meet (a human in every individual decision, a
DPIA when personal data are processed). The bot builds it from `[impact]` in its config and gives
it to the questionnaire (`Questionnaire.with_policy`); the defaults are the documented ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

LEVELS = (1, 2, 3, 4)
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
OBLIGATIONS = ("human_in_every_decision", "dpia_with_personal_data")


@dataclass(frozen=True)
class Obligations:
    """What a level demands that an answer can be found missing against."""

    human_in_every_decision: bool = False
    dpia_with_personal_data: bool = False

    def demands(self, name: str) -> bool:
        return bool(getattr(self, name))


def _default_obligations() -> Mapping[int, Obligations]:
    strict = Obligations(human_in_every_decision=True, dpia_with_personal_data=True)
    return {1: Obligations(), 2: Obligations(), 3: strict, 4: strict}


@dataclass(frozen=True)
class ImpactPolicy:
    thresholds: tuple[int, int, int] = (25, 50, 75)   # % of the maximum risk where levels II, III and IV start
    mitigation_threshold: int = 80                    # % of the maximum mitigation from which the risk is lowered
    mitigation_reduction: int = 15                    # by this % of the risk score
    obligations: Mapping[int, Obligations] = field(default_factory=_default_obligations)

    def of(self, level: int) -> Obligations:
        return self.obligations.get(level, Obligations())
