"""Configuration validation with messages a person can act on."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_no_file_gives_the_demo_setup():
    config = load_config(None)
    assert config.locale == "fr"
    assert config.roles["dpo"].members == ["console:dpo"]
    assert config.storage.path == Path("var/boussole.sqlite3")


def test_the_example_file_is_valid():
    config = load_config(ROOT / "config.example.toml")
    assert config.locale == "fr"
    assert config.reminders.before_days == [30, 7]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "boussole.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_names_the_key_and_the_file(tmp_path):
    path = _write(tmp_path, 'locale = "fr"\n[storage]\npaht = "x.db"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: unknown key 'storage.paht' (a typo? see config.example.toml for the keys)"


def test_wrong_value_says_what_is_expected(tmp_path):
    path = _write(tmp_path, 'locale = "de"\n[roles.dpo]\nlabel = "DPO"\nmembers = ["bob"]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "key 'locale': Input should be 'fr' or 'en'" in message
    assert "key 'roles.dpo.members[0]': 'bob' is not an identity: write console:NAME" in message


def test_bad_digest_and_reminders(tmp_path):
    path = _write(tmp_path, '[digest]\ncron = "every monday"\ntimezone = "Mars/Olympus"\n'
                            '[reminders]\nbefore_days = [0]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "digest.cron" in message and "5 fields" in message
    assert "unknown time zone 'Mars/Olympus'" in message
    assert "reminders.before_days[0]" in message


def test_relative_paths_follow_the_config_file(tmp_path):
    path = _write(tmp_path, '[storage]\npath = "data/b.sqlite3"\n')
    assert load_config(path).storage.path == tmp_path / "data" / "b.sqlite3"


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


# -- the checks behind each message -------------------------------------------------------------

def _refused(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


@pytest.mark.parametrize(("cron", "field"), [("0 9 * * lundi", "the weekday field 'lundi' is wrong"),
                                             ("99 99 * * mon", "the minute field '99' is wrong"),
                                             ("0 9 * 13 *", "the month field '13' is wrong")])
def test_a_cron_the_scheduler_would_refuse_is_refused_at_load(tmp_path, cron, field):
    message = _refused(_write(tmp_path, f'[digest]\ncron = "{cron}"\n'))
    assert message.startswith(f"{tmp_path / 'boussole.toml'}: key 'digest.cron': {field}")
    assert 'e.g. "0 9 * * mon" (Mondays at 9:00)' in message
    assert message.endswith(f"(got '{cron}')")


def test_a_cron_that_never_fires_is_refused(tmp_path):
    message = _refused(_write(tmp_path, '[digest]\ncron = "0 9 31 2 *"\n'))
    assert "key 'digest.cron': this schedule never fires (no such date)" in message


def test_a_valid_cron_and_the_example_file_pass_every_check(tmp_path, questionnaire):
    config = load_config(_write(tmp_path, '[digest]\ncron = "30 8 1-7 * mon-fri"\ntimezone = "Europe/Paris"\n'))
    assert config.digest.cron == "30 8 1-7 * mon-fri"
    assert load_config(ROOT / "config.example.toml").check_against(questionnaire) == []
    assert load_config(None).check_against(questionnaire) == []


def test_a_bad_cron_ends_the_command_line_with_status_2(tmp_path, capsys):
    path = _write(tmp_path, '[digest]\ncron = "0 9 * * lundi"\n')
    status, err = _cli(capsys, "migrate", "--config", str(path), "--db", str(tmp_path / "b.db"))
    assert status == 2
    assert err.startswith(f"boussole: {path}: key 'digest.cron': the weekday field 'lundi' is wrong")
    assert not (tmp_path / "b.db").exists()


ROLE = '[roles.dpo]\nlabel = "DPO"\nmembers = ["console:dpo"]\n'


def test_when_answers_with_a_misspelt_choice_names_the_key_and_the_choices(tmp_path, questionnaire):
    config = load_config(_write(tmp_path, ROLE + 'when_answers = { ctx_data = ["personal", "personnal"] }\n'))
    with pytest.raises(ConfigError) as caught:
        config.check_against(questionnaire)
    assert str(caught.value) == (
        f"{tmp_path / 'boussole.toml'}: key 'roles.dpo.when_answers.ctx_data': 'personnal' is not an answer of "
        "question 'ctx_data'; its answers are open, internal, personal, images, audio, location, unknown")


def test_when_answers_with_an_unknown_question_lists_the_questions(tmp_path, questionnaire):
    config = load_config(_write(tmp_path, ROLE + 'when_answers = { ctx_datas = ["personal"], ctx_name = ["x"] }\n'))
    with pytest.raises(ConfigError) as caught:
        config.check_against(questionnaire)
    first, second = str(caught.value).splitlines()
    assert f"key 'roles.dpo.when_answers.ctx_datas': questionnaire {questionnaire.version} has no question " \
           "'ctx_datas'; questions whose answers a role can follow: ctx_ai_kind, ctx_supplier, ctx_operator," in first
    assert "c1_biometric" in first and "ctx_name" not in first  # a free text has no answers to list
    assert "key 'roles.dpo.when_answers.ctx_name': question 'ctx_name' (text) has no answers to choose from" in second


def test_when_answers_takes_choices_yes_no_directions_and_unknown_where_allowed(tmp_path, questionnaire):
    config = load_config(_write(tmp_path, ROLE + 'when_answers = { ctx_hosting = ["outside_eu", "unknown"], '
                                                 'c1_biometric = ["yes", "unknown"], ctx_direction = ["numerique"] }\n'
                                                 '[directions.numerique]\nlabel = "Numérique"\n'))
    assert config.check_against(questionnaire) == []
    refused = load_config(_write(tmp_path, ROLE + 'when_answers = { ctx_direction = ["unknown"], '
                                                  'c1_biometric = ["oui"] }\n'
                                                  '[directions.numerique]\nlabel = "Numérique"\n'))
    with pytest.raises(ConfigError) as caught:
        refused.check_against(questionnaire)
    assert "'unknown' is not an answer of question 'ctx_direction'" in str(caught.value)  # not offered there
    assert "'oui' is not an answer of question 'c1_biometric'; its answers are yes, no, unknown" in str(caught.value)


def test_a_misspelt_when_answers_ends_the_command_line_with_status_2(tmp_path, capsys):
    path = _write(tmp_path, ROLE + 'when_answers = { ctx_data = ["personnal"] }\n')
    status, err = _cli(capsys, "migrate", "--config", str(path), "--db", str(tmp_path / "b.db"))
    assert status == 2
    assert err.startswith(f"boussole: {path}: key 'roles.dpo.when_answers.ctx_data': 'personnal' is not an answer")
    assert not (tmp_path / "b.db").exists()


def test_a_file_not_in_utf8_is_named_with_its_line_and_no_traceback(tmp_path):
    path = tmp_path / "boussole.toml"
    path.write_bytes('locale = "fr"\n[roles.dpo]\nlabel = "Délégué"\n'.encode("latin-1"))
    done = subprocess.run([sys.executable, "-m", "bot", "migrate", "--config", str(path)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr == f"boussole: {path}: line 3: byte 0xe9 is not UTF-8 text: save the file as UTF-8\n"


def test_a_storage_path_under_a_file_is_refused_at_load(tmp_path, capsys):
    (tmp_path / "data").write_text("not a directory")
    path = _write(tmp_path, '[storage]\npath = "data/b.sqlite3"\n')
    expected = (f"{path}: key 'storage.path': cannot keep the database at '{tmp_path / 'data' / 'b.sqlite3'}': "
                f"its directory cannot be created: '{tmp_path / 'data'}' is a file, not a directory; choose another "
                "path")
    assert _refused(path).startswith(expected)
    status, err = _cli(capsys, "migrate", "--config", str(path))
    assert status == 2 and err.startswith(f"boussole: {expected}") and "Traceback" not in err


def test_a_storage_path_in_a_read_only_directory_is_refused_at_load(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        try:
            (locked / "probe").mkdir()
        except PermissionError:
            message = _refused(_write(tmp_path, '[storage]\npath = "locked/var/b.sqlite3"\n'))
        else:
            pytest.skip("this user writes into read-only directories (root)")
    finally:
        locked.chmod(0o755)
    assert f"its directory '{locked / 'var'}' cannot be created: '{locked}' cannot be written to" in message


def test_each_config_error_is_one_message_with_its_key_and_status_2(tmp_path, capsys):
    cases = {
        'locale = "fr\n': "not valid TOML: ",
        '[storage]\npaht = "x.db"\n': "unknown key 'storage.paht' (a typo? see config.example.toml for the keys)",
        '[reminders]\nsweep_seconds = "often"\n': "key 'reminders.sweep_seconds': Input should be a valid integer",
        '[roles.DPO]\nlabel = "DPO"\nmembers = ["console:dpo"]\n': "key 'roles.DPO': name 'DPO' must be lower-case",
        '[roles.dpo]\nmembers = ["console:dpo"]\n': "key 'roles.dpo.label' is missing: add it",
        '[roles.dpo]\nlabel = "DPO"\nmembers = []\n': "key 'roles.dpo.members': a role needs at least one member",
    }
    for text, problem in cases.items():
        path = _write(tmp_path, text)
        status, err = _cli(capsys, "migrate", "--config", str(path))
        assert status == 2, text
        assert len(err.splitlines()) == 1 and err.startswith(f"boussole: {path}: {problem}"), err


# -- warnings at start ------------------------------------------------------------------------------

def test_a_role_whose_members_cannot_reach_the_bot_is_a_warning(tmp_path, questionnaire, caplog):
    config = load_config(_write(tmp_path, '[slack]\nenabled = true\n[matrix]\nenabled = true\n'
                                          'allowed_servers = ["ville.fr"]\n'
                                          '[roles.dpo]\nlabel = "DPO"\nalways = true\n'
                                          'members = ["console:dpo", "matrix:@dpo:autre.fr"]\n'
                                          '[roles.rssi]\nlabel = "RSSI"\ncriteria = [2]\n'
                                          'members = ["console:rssi", "slack:U0RSSI"]\n'
                                          '[directions.numerique]\nlabel = "Numérique"\n'))
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        warnings = config.check_against(questionnaire)
    assert warnings == [
        "roles.dpo: no member can decide, so an assessment that needs this role can never be approved "
        "(console:dpo: a terminal identity, which `boussole run` on Slack or Matrix does not reach; "
        "matrix:@dpo:autre.fr: not allowed to talk to the bot (see matrix.allowed_users and matrix.allowed_servers))"
        ": add a member the bot can reach"]
    assert [r.getMessage() for r in caplog.records] == [f"{tmp_path / 'boussole.toml'}: {warnings[0]}"]


def test_members_on_a_transport_left_disabled_are_a_warning(tmp_path, questionnaire):
    config = load_config(_write(tmp_path, '[roles.dpo]\nlabel = "DPO"\nmembers = ["slack:U0DPO"]\n'
                                          'when_answers = { ctx_data = ["personal"] }\n'
                                          '[roles.archives]\nlabel = "Archives"\nmembers = ["slack:U0ARC"]\n'
                                          '[directions.numerique]\nlabel = "Numérique"\n'))
    assert config.check_against(questionnaire) == [
        "roles.dpo: no member can decide, so an assessment that needs this role can never be approved "
        "(slack:U0DPO: Slack is not enabled ([slack] enabled = false)): add a member the bot can reach"]


def test_a_question_offering_directions_without_directions_is_a_warning(tmp_path, questionnaire, capsys, caplog):
    path = _write(tmp_path, 'locale = "fr"\n')
    warning = ("questionnaire question 'ctx_direction' offers the directions, but the config has none, so it is "
               "asked as free text and no manager gets the digests: add a [directions.NAME] section with a label")
    assert load_config(path).check_against(questionnaire) == [warning]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        status, _err = _cli(capsys, "migrate", "--config", str(path), "--db", str(tmp_path / "b.db"))
    assert status == 0  # the command line starts, and says it
    assert [r.getMessage() for r in caplog.records] == [f"{path}: {warning}"]


def test_a_weekday_given_as_a_number_is_a_warning(tmp_path, questionnaire):
    config = load_config(_write(tmp_path, '[digest]\ncron = "0 9 * * 1"\n[directions.numerique]\nlabel = "N"\n'))
    assert config.check_against(questionnaire) == [
        "digest.cron '0 9 * * 1' gives the weekday as a number, which APScheduler 3 counts from 0 = Monday "
        "(cron counts from 0 = Sunday): write day names instead, e.g. \"mon-fri\""]
