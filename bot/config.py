"""Configuration: one pydantic model per section, validated at start.

A wrong key or value raises `ConfigError` naming the file, the key and what is expected;
only the command-line entry point turns it into an exit. Secrets never live in the file:
they come from environment variables.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from conversations.questionnaire import DEFAULT_PATH as DEFAULT_QUESTIONNAIRE

IDENTITY = re.compile(r"^(console:[\w.\-]+|slack:[A-Z0-9]+|matrix:@[^:\s]+:[^\s]+)$")


def _identity(value: str) -> str:
    if not IDENTITY.match(value):
        raise ValueError(f"'{value}' is not an identity: write console:NAME, slack:U0123ABC or matrix:@name:server")
    return value


Identity = Annotated[str, AfterValidator(_identity)]


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and what to write instead."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(Section):
    path: Path = Path("var/boussole.sqlite3")


class RoleConfig(Section):
    label: str
    members: list[Identity] = Field(min_length=1)
    criteria: list[int] = []
    always: bool = False
    when_answers: dict[str, list[str]] = {}

    @field_validator("criteria")
    @classmethod
    def _criteria_range(cls, value: list[int]) -> list[int]:
        for number in value:
            if not 0 <= number <= 7:
                raise ValueError(f"criterion {number} does not exist: use numbers from 0 (context) to 7")
        return value


class DirectionConfig(Section):
    label: str
    managers: list[Identity] = []


class RemindersConfig(Section):
    period_months: int = Field(12, ge=1, le=60)
    reservations_period_months: int = Field(6, ge=1, le=60)
    before_days: list[Annotated[int, Field(ge=1, le=365)]] = [30, 7]
    escalate_after_days: int = Field(14, ge=0, le=365)
    draft_idle_days: int = Field(7, ge=1, le=365)
    review_pending_days: int = Field(5, ge=1, le=365)
    new_version_delay_days: int = Field(90, ge=0, le=730)
    sweep_seconds: int = Field(60, ge=5, le=3600)


class DigestConfig(Section):
    cron: str = "0 9 * * mon"
    timezone: str = "Europe/Paris"
    skip_empty: bool = True

    @field_validator("cron")
    @classmethod
    def _cron_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("cron needs 5 fields: minute hour day month weekday, e.g. \"0 9 * * mon\"")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}': use a name such as \"Europe/Paris\"") from None
        return value


class SlackConfig(Section):
    """Tokens come only from SLACK_BOT_TOKEN, SLACK_APP_TOKEN (socket mode), SLACK_SIGNING_SECRET (http)."""

    enabled: bool = False
    mode: Literal["socket", "http"] = "socket"
    port: int = Field(3000, ge=0, le=65535)
    host: str = "0.0.0.0"
    path: str = Field("/slack/events", pattern=r"^/[\w\-/]*$")
    api_url: str = Field("https://slack.com/api/", pattern=r"^https?://")
    reviewers_channel: str | None = Field(None, pattern=r"^[CG][A-Z0-9]+$")
    messages_per_second: float = Field(1.0, gt=0, le=1000)

    def secrets(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The tokens this mode needs, from the environment; ConfigError naming what is missing."""
        needed = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if self.mode == "socket" else "SLACK_SIGNING_SECRET"]
        missing = [name for name in needed if not environ.get(name)]
        if missing:
            raise ConfigError(f"[slack] is enabled in {self.mode} mode: set the environment variable(s) "
                              f"{', '.join(missing)} (secrets are never read from the config file)")
        return {name: environ[name] for name in needed}


class MatrixConfig(Section):
    """The secret comes only from MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD."""

    enabled: bool = False
    homeserver: str = Field("http://127.0.0.1:8008", pattern=r"^https?://")
    user_id: str = Field("@boussole:localhost", pattern=r"^@[^:\s]+:\S+$")
    device_id: str = Field("BOUSSOLE", pattern=r"^[A-Za-z0-9_\-]+$")
    store_path: Path = Path("var/matrix-store")
    allowed_users: list[str] = []
    allowed_servers: list[str] = []
    reviewers_room: str | None = Field(None, pattern=r"^!\S+:\S+$")
    encryption: bool = True
    # Clients increasingly refuse unverified devices; the bot's own choice for others' devices:
    # true sends to every device of the room's members (verified or not); false sends only to verified ones.
    send_to_unverified_devices: bool = True

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]

    def allows(self, sender: str) -> bool:
        """Allowed users, then allowed servers; with neither set, the bot's own server only."""
        if sender in self.allowed_users:
            return True
        server = sender.split(":", 1)[1] if ":" in sender else ""
        if self.allowed_servers:
            return server in self.allowed_servers
        return not self.allowed_users and server == self.server_name

    def secrets(self, environ: Mapping[str, str]) -> dict[str, str]:
        found = {k: environ[k] for k in ("MATRIX_ACCESS_TOKEN", "MATRIX_PASSWORD") if environ.get(k)}
        if not found:
            raise ConfigError("[matrix] is enabled: set MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD in the environment "
                              "(secrets are never read from the config file)")
        return found


class ConsoleConfig(Section):
    user: str = Field("agent", pattern=r"^[\w.\-]+$")


class Config(Section):
    locale: Literal["fr", "en"] = "fr"
    questionnaire: Path = DEFAULT_QUESTIONNAIRE
    admins: list[Identity] = []
    storage: StorageConfig = StorageConfig()
    roles: dict[str, RoleConfig] = {}
    directions: dict[str, DirectionConfig] = {}
    reminders: RemindersConfig = RemindersConfig()
    digest: DigestConfig = DigestConfig()
    console: ConsoleConfig = ConsoleConfig()
    slack: SlackConfig = SlackConfig()
    matrix: MatrixConfig = MatrixConfig()

    @model_validator(mode="after")
    def _role_names(self) -> Config:
        for name in list(self.roles) + list(self.directions):
            if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", name):
                raise ValueError(f"name '{name}' must be lower-case letters, digits, '-' or '_'")
        return self

    def roles_of(self, identity: str) -> list[str]:
        return [name for name, role in self.roles.items() if identity in role.members]

    def directions_managed_by(self, identity: str) -> list[str]:
        return [name for name, d in self.directions.items() if identity in d.managers]

    def is_admin(self, identity: str) -> bool:
        return identity in self.admins


def demo_config() -> Config:
    """The embedded default: terminal identities that let one person play every part."""
    return Config(
        admins=["console:admin"],
        roles={
            "dpo": RoleConfig(label="Délégué à la protection des données (DPD)", members=["console:dpo"],
                              criteria=[1, 2], when_answers={"ctx_data": ["personal", "images", "audio", "location"]}),
            "rssi": RoleConfig(label="RSSI", members=["console:rssi"], criteria=[2],
                               when_answers={"ctx_hosting": ["outside_eu", "unknown"]}),
            "juridique": RoleConfig(label="Direction juridique", members=["console:juriste"], criteria=[2, 6]),
            "numerique-responsable": RoleConfig(label="Numérique responsable", members=["console:nr"],
                                                criteria=[3, 4, 5, 7], always=True),
        },
        directions={
            "numerique": DirectionConfig(label="Direction du numérique", managers=["console:manager"]),
            "relation-usagers": DirectionConfig(label="Relation usagers", managers=["console:manager"]),
            "mobilites": DirectionConfig(label="Mobilités", managers=["console:manager2"]),
        },
    )


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_config(path: Path | str | None) -> Config:
    """Read and validate a TOML config file; None gives the embedded demo default."""
    if path is None:
        return demo_config()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (copy config.example.toml and edit it)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            key = _where(error["loc"])
            if error["type"] == "extra_forbidden":
                lines.append(f"{path}: unknown key '{key}' (a typo? see config.example.toml for the keys)")
            else:
                message = error["msg"].removeprefix("Value error, ")
                lines.append(f"{path}: key '{key}': {message} (got {error.get('input')!r})")
        raise ConfigError("\n".join(lines)) from None
    if not config.questionnaire.is_absolute():
        config = config.model_copy(update={"questionnaire": (path.parent / config.questionnaire).resolve()})
    if not config.matrix.store_path.is_absolute():
        matrix = config.matrix.model_copy(update={"store_path": (path.parent / config.matrix.store_path).resolve()})
        config = config.model_copy(update={"matrix": matrix})
    if not config.storage.path.is_absolute():
        storage = config.storage.model_copy(update={"path": (path.parent / config.storage.path).resolve()})
        config = config.model_copy(update={"storage": storage})
    return config
