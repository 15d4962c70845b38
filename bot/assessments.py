"""Saving an assessment the one way: its row, its answer history, and the findings its answers raise.

Both the interview side (`bot.app`) and the review side (`bot.review`) change assessments; they
save them through `save_assessment`, so the stored recommendation and findings always follow the
answers.
"""

from __future__ import annotations

import datetime as dt

from bot.storage import Tx
from conversations.model import Interview, utc_iso
from conversations.questionnaire import Questionnaire
from conversations.rules import summarize


async def save_assessment(tx: Tx, questionnaire: Questionnaire, interview: Interview, *, old: Interview | None,
                          actor: str, now: dt.datetime) -> None:
    """Store an interview as changed by `actor`; findings are kept for the current questionnaire's version only
    (an assessment answered under another version is judged by that version's reviewers, not re-ruled)."""
    stamp = utc_iso(now)
    if interview.questionnaire_version != questionnaire.version:
        await tx.save_interview(interview, actor=actor, now=stamp, recommendation=None, old=old)
        return
    summary = summarize(questionnaire, interview.answers)  # an incomplete one is stored as such, not favourable
    after = list(summary.findings)
    await tx.save_interview(interview, actor=actor, now=stamp, recommendation=str(summary.recommendation), old=old)
    if old is None or old.answers != interview.answers:
        before = list(summarize(questionnaire, old.answers).findings) if old is not None else []
        await tx.save_findings(interview.id, before, after, stamp)
