"""The impact level's config: thresholds validated, obligations by level, roles it calls on, its period."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import Boussole
from bot.config import ConfigError, load_config
from bot.review import add_months
from bot.storage import Database
from conversations.model import Status
from tests.helpers import BENEFIT_SCORER, STREET_CAMERA, WRITING_AID, Chat, submitted, to


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "boussole.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("thresholds", ["[50, 25, 75]", "[25, 50, 101]", "[25, 50]", "[25, 25, 75]"])
def test_thresholds_must_be_three_ascending_percentages(tmp_path, thresholds):
    with pytest.raises(ConfigError, match="three percentages from 0 to 100, in ascending order"):
        load_config(_write(tmp_path, f"[impact]\nthresholds = {thresholds}\n"))


def test_mitigation_figures_are_percentages_and_levels_are_one_to_four(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, "[impact]\nmitigation_threshold = 120\nmitigation_reduction = -1\n"
                                     "[impact.levels.5]\nperiod_months = 3\n"))
    message = str(caught.value)
    assert "impact.mitigation_threshold" in message and "impact.mitigation_reduction" in message
    assert "[impact.levels.1] to [impact.levels.4]" in message


def test_a_level_written_keeps_the_others_defaults_and_names_only_configured_roles(tmp_path, questionnaire):
    config = load_config(_write(tmp_path, '[roles.dpo]\nlabel = "DPO"\nmembers = ["console:dpo"]\n'
                                          '[impact.levels.2]\nperiod_months = 9\nroles = ["dpo"]\n'))
    assert config.impact.level(2).period_months == 9 and config.impact.level(4).period_months == 6
    assert config.impact_roles(3) == ["dpo"]          # the default's "juridique" is not configured here
    config.check_against(questionnaire)
    typo = load_config(_write(tmp_path, '[impact.levels.3]\nroles = ["jurdique"]\n'))
    with pytest.raises(ConfigError, match=r"impact\.levels\.3\.roles: 'jurdique' is not a configured role"):
        typo.check_against(questionnaire)


async def test_a_benefit_scorer_needs_the_legal_department_and_the_dpo(app):
    chat = Chat(app)
    n = await submitted(chat, BENEFIT_SCORER)
    replies = chat.inbox
    asked = {r.to for r in replies if r.kind == "review_request" and r.assessment == n}
    assert {"console:juriste", "console:dpo"} <= asked


async def test_a_writing_aid_is_not_sent_to_the_legal_department(app):
    chat = Chat(app)
    n = await submitted(chat, WRITING_AID)
    assert "console:juriste" not in {r.to for r in chat.inbox if r.kind == "review_request" and r.assessment == n}


@pytest.mark.parametrize(("overrides", "months"), [(WRITING_AID, 24), (STREET_CAMERA, 12), (BENEFIT_SCORER, 6)])
async def test_the_level_sets_the_re_evaluation_period(config, questionnaire, db_path, clock, overrides, months):
    db = await Database(db_path).open()
    try:
        app = Boussole(config=config, questionnaire=questionnaire, db=db, clock=clock)
        chat = Chat(app)
        n = await submitted(chat, overrides)
        for role in ("console:nr", "console:dpo", "console:juriste", "console:rssi"):
            await chat.say(f"valider {n} vu", user=role)
        async with db.reading() as tx:
            row = await tx.assessment(n)
        assert row is not None and row.interview.status is Status.APPROVED
        assert row.next_review_at == add_months(clock.now, months).isoformat(timespec="seconds")
    finally:
        await db.close()


async def test_reservations_keep_the_shorter_period(app, clock):
    chat = Chat(app)
    n = await submitted(chat, WRITING_AID)
    replies = await chat.say(f"réserves {n} à suivre", user="console:nr")
    assert to(replies, "console:alice", "decision")
    async with app.db.reading() as tx:
        row = await tx.assessment(n)
    assert row is not None and row.next_review_at == add_months(clock.now, 6).isoformat(timespec="seconds")


async def test_a_re_evaluation_shows_the_reviewers_the_change_of_level_and_the_answers_that_moved_it(app):
    chat = Chat(app)
    n = await submitted(chat, WRITING_AID)
    await chat.say(f"valider {n} vu", user="console:nr")
    await chat.say(f"réévaluer {n}")
    worse = {"imp_rights": "4", "imp_health_safety": "4", "imp_economic": "4", "imp_service_access": "3",
             "imp_reversibility": "4", "imp_duration": "4"}
    await chat.answer_all({**WRITING_AID, **worse})
    replies = await chat.say("soumettre")
    request = to(replies, "console:juriste", "review_request")[0].text   # level III calls the legal department
    assert ("Niveau d'impact : I → III depuis l'usage n°1 ; réponses qui l'ont fait bouger : Effets sur les droits "
            "et libertés, Effets sur la santé et la sécurité, Effets sur les intérêts économiques, "
            "Inclusion ou exclusion à tort d'un service, "
            "Réversibilité des effets, Durée des effets.") in request


async def test_a_re_evaluation_at_the_same_level_says_so(app):
    chat = Chat(app)
    n = await submitted(chat, WRITING_AID)
    await chat.say(f"valider {n} vu", user="console:nr")
    await chat.say(f"réévaluer {n}")
    await chat.answer_all(WRITING_AID)
    replies = await chat.say("soumettre")
    assert "Niveau d'impact inchangé depuis l'usage n°1 : I." in to(replies, "console:nr", "review_request")[0].text


async def test_the_report_and_an_english_summary_show_the_level(app):
    from bot.report import build, to_html, to_markdown

    chat = Chat(app)
    await chat.say("language en")
    replies = await chat.say("new")
    await chat.answer_all(BENEFIT_SCORER)
    summary = next(r for r in chat.inbox if r.kind == "summary")
    assert "Impact level: IV — risk 32/40 (80% of the maximum)" in summary.text
    assert replies and replies[0].assessment is not None
    async with app.db.reading() as tx:
        report = await build(tx, app.questionnaire, app.config, replies[0].assessment)
    assert report is not None
    assert "- Niveau d'impact : IV — risque 32/40" in to_markdown(report)
    assert "<p>Réponses qui pèsent le plus : Effets sur les droits et libertés (4/4)" in to_html(report, b"")
