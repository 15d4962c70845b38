"""Shared fixtures; and a guard that fails any test reaching beyond the loopback interface."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Boussole
from bot.config import Config, demo_config
from bot.storage import Database
from conversations.questionnaire import Questionnaire, load_questionnaire

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            if host == "localhost":
                return
            raise AssertionError(f"test tried to reach {host!r}: only 127.0.0.1 / ::1 are allowed") from None
        if not ip.is_loopback:
            raise AssertionError(f"test tried to reach {host}: only 127.0.0.1 / ::1 are allowed")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(scope="session")
def questionnaire() -> Questionnaire:
    return load_questionnaire()


@pytest.fixture
def config() -> Config:
    return demo_config()


class FakeClock:
    """An injectable clock tests move by hand."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "boussole.sqlite3"


@pytest.fixture
async def app(config: Config, questionnaire: Questionnaire, db_path: Path, clock: FakeClock) -> AsyncIterator[Boussole]:
    db = await Database(db_path).open()
    try:
        yield Boussole(config=config, questionnaire=questionnaire, db=db, clock=clock)
    finally:
        await db.close()
