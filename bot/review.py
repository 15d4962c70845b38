"""The review side: reviewers decide on submitted assessments (filled in by the review workflow)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.storage import Tx
from conversations.commands import Command
from conversations.model import Reply, Signal

if TYPE_CHECKING:
    from bot.app import Boussole


class ReviewDesk:
    COMMANDS: frozenset[str] = frozenset()

    def __init__(self, app: Boussole) -> None:
        self.app = app

    async def handle_command(self, tx: Tx, user: str, command: Command, now: dt.datetime) -> list[Reply]:
        return []

    async def on_signals(self, tx: Tx, signals: tuple[Signal, ...], *, actor: str, now: dt.datetime) -> list[Reply]:
        return []
