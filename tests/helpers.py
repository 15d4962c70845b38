"""Scripted interviews shared by the tests: answers by question id, whatever the order."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from bot.app import Boussole
from bot.config import demo_config
from bot.i18n import Rendered
from conversations.answers import Answer, parse_answer
from conversations.model import Incoming
from conversations.questionnaire import Choice, LocalText, Questionnaire
from conversations.rules import is_applicable

# A use with nothing to flag: every criterion comes out "ok" (questionnaire 2025.1). The answers to questions
# a clean use is not asked (an « Autre » direction, a human review…) are there for the tests that lead to them.
CLEAN = {
    "ctx_name": "Tri du courrier entrant",
    "ctx_purpose": "Classer automatiquement les courriers reçus par thème pour les orienter vers le bon service.",
    "ctx_direction": "1",
    "ctx_direction_other": "Direction des sports",
    "ctx_ai_kind": "5",
    "ctx_supplier": "Modèle de classification local, DSI",
    "ctx_operator": "1",
    "ctx_users": "1",
    "ctx_hosting": "1",
    "ctx_data": "2",
    "imp_rights": "1",
    "imp_health_safety": "1",
    "imp_economic": "1",
    "imp_service_access": "1",
    "imp_reversibility": "1",
    "imp_duration": "1",
    "imp_discretion": "1",
    "c1_biometric": "non",
    "c1_sensitive": "non",
    "c1_profiling": "non",
    "c1_bias": "1",
    "c1_bias_testing": "1",
    "c2_legal_basis": "1",
    "c2_legal_text": "Code général des collectivités territoriales, art. L2121-29 ; délibération du 12 avril 2024",
    "c2_dpia": "1",
    "c2_data_lifecycle": "1,2,3,4,5",
    "c2_ciso": "oui",
    "c2_prohibited": "1",
    "c2_high_risk": "1",
    "c3_problem": "Les courriers attendent plusieurs jours avant d'arriver au bon service.",
    "c3_measure": "1",
    "c3_indicator": "Délai moyen d'orientation : de 4 jours à 1 jour",
    "c3_drift": "1",
    "c4_effect": "1",
    "c4_monitoring": "1",
    "c4_involvement": "oui",
    "c5_model_size": "2",
    "c5_frequency": "2",
    "c5_lighter": "oui",
    "c6_individual_decision": "1",
    "c6_human_review": "1",
    "c6_contest": "Recours gracieux auprès du service courrier, réponse sous 15 jours",
    "c6_logging": "oui",
    "c6_informed": "oui",
    "c6_accountable": "Chef du service courrier",
    "c6_explainable": "1",
    "c6_register": "oui",
    "c6_register_reason": "Sécurité d'un site sensible de la collectivité",
    "c7_alternative": "oui",
    "c7_alternative_what": "Un tri par mots-clés dans l'outil de courrier",
    "c7_why_better": "Des règles par mots-clés se trompaient une fois sur trois.",
    "c7_benefit": "1",
}

# The demo setup's directions, then « Autre », as the interview offers them.
DIRECTIONS = tuple(Choice(name, LocalText(d.label, d.label)) for name, d in demo_config().directions.items())
OFFERED_DIRECTIONS = (*DIRECTIONS, Choice("other", LocalText("Autre (préciser)", "Other (specify)")))

_ids = itertools.count(1)


def answers_for(questionnaire: Questionnaire, overrides: dict[str, str] | None = None) -> dict[str, Answer]:
    """The answers CLEAN with `overrides` gives, to the questions that apply, in the order they are asked."""
    typed = {**CLEAN, **(overrides or {})}
    answers: dict[str, Answer] = {}
    for question in questionnaire.questions:
        if question.id in typed and is_applicable(question, answers):
            choices = OFFERED_DIRECTIONS if question.choices_from == "directions" else None
            parsed = parse_answer(question, typed[question.id], choices)
            assert isinstance(parsed, Answer), (question.id, parsed)
            answers[question.id] = parsed
    return answers


def event(user: str, text: str, event_id: str | None = None, *, explicit: bool = False) -> Incoming:
    return Incoming(event_id or f"test-{next(_ids)}", user, text, explicit=explicit)


class Chat:
    """Talks to the application as one console user and collects what it delivers."""

    def __init__(self, app: Boussole, user: str = "console:alice") -> None:
        self.app = app
        self.user = user
        self.inbox: list[Rendered] = []

    async def _collect(self, row: Any, rendered: Rendered) -> None:
        self.inbox.append(rendered)

    async def say(self, text: str, *, user: str | None = None, event_id: str | None = None,
                  explicit: bool = False) -> list[Rendered]:
        await self.app.handle(event(user or self.user, text, event_id, explicit=explicit))
        start = len(self.inbox)
        await self.app.deliver("console", self._collect)
        return self.inbox[start:]

    def last_question(self) -> str | None:
        for rendered in reversed(self.inbox):
            if rendered.to == self.user and rendered.question is not None:
                return rendered.question["id"]
            if rendered.to == self.user and rendered.kind in ("summary", "blocker"):
                return None
        return None

    async def answer_all(self, answers: dict[str, str], stop_at: str | None = None) -> list[Rendered]:
        """Answer each question asked from `answers` until the interview ends (or `stop_at` is asked)."""
        for _ in range(100):
            qid = self.last_question()
            if qid is None or qid == stop_at:
                return self.inbox
            await self.say(answers.get(qid, CLEAN[qid]))
        raise AssertionError("the interview did not end in 100 answers")


async def submitted(chat: Chat, overrides: dict[str, str] | None = None) -> int:
    """Run a whole interview as `chat.user` and submit it; return the assessment number."""
    replies = await chat.say("nouveau")
    assessment = replies[0].assessment
    await chat.answer_all(overrides or {})
    await chat.say("soumettre")
    assert assessment is not None
    return assessment


def to(replies: list[Rendered], user: str, kind: str | None = None) -> list[Rendered]:
    return [r for r in replies if r.to == user and (kind is None or r.kind == kind)]


async def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll a condition until it holds (returning its value); fail after `timeout` seconds. Never a bare sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {timeout} s{': ' + what if what else ''}")


# Three uses of the impact level's scenarios (questionnaire 2025.1), as overrides of CLEAN.
WRITING_AID = {
    "ctx_name": "Aide à la rédaction des courriels",
    "ctx_purpose": "Proposer aux agents un brouillon de réponse aux courriels des usagers, que l'agent relit, "
                   "corrige et envoie lui-même.",
    "ctx_ai_kind": "1", "ctx_data": "2", "ctx_users": "1",
    "imp_reversibility": "2", "imp_duration": "2",
    "c6_individual_decision": "1",
}
STREET_CAMERA = {
    "ctx_name": "Détection des dépôts sauvages",
    "ctx_purpose": "Des caméras de rue repèrent les dépôts sauvages d'ordures et alertent les agents de la "
                   "propreté, qui constatent sur place et peuvent verbaliser.",
    "ctx_ai_kind": "2", "ctx_data": "4,6", "ctx_users": "1",
    "imp_rights": "3", "imp_economic": "3", "imp_reversibility": "3", "imp_duration": "3", "imp_discretion": "2",
    "c1_bias_testing": "3", "c2_data_lifecycle": "1,2", "c2_high_risk": "8",
    "c3_drift": "2", "c6_individual_decision": "2",
}
BENEFIT_SCORER = {
    "ctx_name": "Classement des demandes d'aide",
    "ctx_purpose": "Un score classe les demandes d'aide sociale par priorité ; les agents instruisent les "
                   "dossiers dans l'ordre du classement.",
    "ctx_ai_kind": "4", "ctx_data": "3", "ctx_users": "1",
    "imp_rights": "4", "imp_health_safety": "2", "imp_economic": "4", "imp_service_access": "3",
    "imp_reversibility": "3", "imp_duration": "4", "imp_discretion": "3",
    "c1_bias_testing": "2", "c2_data_lifecycle": "1,2,3", "c2_high_risk": "6",
    "c6_individual_decision": "2", "c6_human_review": "2",
}
