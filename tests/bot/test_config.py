"""Configuration validation with messages a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

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
