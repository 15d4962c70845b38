"""A session-wide Synapse on 127.0.0.1, and per test: a bot, its database, and people with nio clients."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.matrix.adapter import MatrixAdapter
from bot.app import Boussole
from bot.config import Config, DirectionConfig, MatrixConfig, RoleConfig
from bot.storage import Database
from tests.adapters.matrix.element_client import Element
from tests.adapters.matrix.people import Person
from tests.adapters.matrix.synapse import Synapse

_names = itertools.count(1)
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class MatrixWorld:
    synapse: Synapse
    tmp: Path
    questionnaire: object
    db_path: Path
    bot_id: str = ""
    names: dict[str, str] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    app: Boussole | None = None
    adapter: MatrixAdapter | None = None
    db: Database | None = None

    def user(self, role: str) -> str:
        return self.names[role]

    def config(self, *, encryption: bool = True, **matrix: object) -> Config:
        return Config(
            roles={"dpo": RoleConfig(label="DPD", members=[f"matrix:{self.user('dpo')}"], criteria=[1, 2]),
                   "nr": RoleConfig(label="Numérique responsable", members=[f"matrix:{self.user('nr')}"],
                                    criteria=[3, 4, 5, 7], always=True)},
            directions={"numerique": DirectionConfig(label="Direction du numérique",
                                                     managers=[f"matrix:{self.user('manager')}"])},
            matrix=MatrixConfig(**{"enabled": True, "homeserver": self.synapse.url, "user_id": self.bot_id,
                                   "device_id": "BOUSSOLEBOT", "store_path": self.tmp / "bot-store",
                                   "encryption": encryption, **matrix}),
        )

    async def start_bot(self, *, encryption: bool = True, secrets: dict[str, str] | None = None,
                        **matrix: object) -> MatrixAdapter:
        config = self.config(encryption=encryption, **matrix)
        self.db = await Database(self.db_path).open()
        self.app = Boussole(config=config, questionnaire=self.questionnaire, db=self.db)
        self.adapter = MatrixAdapter(self.app, config.matrix, {"MATRIX_PASSWORD": PASSWORD, **(secrets or {})},
                                     retry_delay=0.05, sync_timeout_ms=200)
        await self.adapter.start()
        return self.adapter

    async def stop_bot(self) -> None:
        if self.adapter is not None:
            await self.adapter.stop()
            self.adapter = None
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def person(self, role: str, *, encryption: bool = False) -> Person:
        person = Person(self.synapse.url, self.user(role), PASSWORD, self.tmp / f"store-{role}", encryption=encryption)
        self.people.append(person)
        return await person.start()

    async def element(self, role: str, *, cross_signing: bool = True) -> Element:
        """This person on a client built as Element builds it (matrix-js-sdk, Rust crypto)."""
        client = Element(self.synapse.url, self.user(role), PASSWORD, self.tmp / f"element-{role}.log")
        self.elements.append(client)
        return await client.start(cross_signing=cross_signing)


@pytest.fixture
async def matrix(synapse: Synapse, tmp_path: Path, questionnaire, db_path: Path) -> AsyncIterator[MatrixWorld]:
    n = next(_names)
    world = MatrixWorld(synapse, tmp_path, questionnaire, db_path)
    for role in ("bot", "alice", "dpo", "nr", "manager", "mallory", "admin"):
        registered = synapse.register(f"{role}{n}", PASSWORD, admin=role == "admin")
        world.names[role] = registered["user_id"]
        if role == "admin":
            world.names["admin_token"] = registered["access_token"]
    world.bot_id = world.names["bot"]
    try:
        yield world
    finally:
        await world.stop_bot()
        for person in world.people:
            await person.stop()
        for client in world.elements:
            await client.stop()
