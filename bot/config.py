"""Configuration: one pydantic model per section, validated at start.

A wrong key or value raises `ConfigError` naming the file, the key and what is expected;
only the command-line entry point turns it into an exit. Loading also checks that the
database's directory can be created. What needs the questionnaire too (the answers named
in `when_answers`) is checked by `Config.check_against`, which also returns the warnings
worth reading at start. Secrets never live in the file: they come from environment variables.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from conversations.policy import LEVELS, ROMAN, ImpactPolicy, Obligations
from conversations.questionnaire import DEFAULT_PATH as DEFAULT_QUESTIONNAIRE
from conversations.questionnaire import Question, Questionnaire, QuestionType

logger = logging.getLogger(__name__)

IDENTITY = re.compile(r"^(console:[\w.\-]+|slack:[A-Z0-9]+|matrix:@[^:\s]+:[^\s]+)$")
NAME = re.compile(r"[a-z0-9][a-z0-9_\-]*")
CRON_FIELDS = (("minute", "minute"), ("hour", "hour"), ("day", "day of month"), ("month", "month"),
               ("day_of_week", "weekday"))
CRON_HINT = 'write minute hour day month weekday, with English day names, e.g. "0 9 * * mon" (Mondays at 9:00)'


def _identity(value: str) -> str:
    if not IDENTITY.match(value):
        raise ValueError(f"'{value}' is not an identity: write console:NAME, slack:U0123ABC or matrix:@name:server")
    return value


Identity = Annotated[str, AfterValidator(_identity)]


def _name(value: str) -> str:
    if not NAME.fullmatch(value):
        raise ValueError(f"name '{value}' must be lower-case letters, digits, '-' or '_' (e.g. \"dpo\")")
    return value


Name = Annotated[str, AfterValidator(_name)]


def _cron(value: str) -> str:
    """A crontab line as APScheduler 3 reads it (the scheduler's own parser, not a copy of it)."""
    fields = value.split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError(f"cron needs 5 fields: {CRON_HINT}")
    for (argument, label), field in zip(CRON_FIELDS, fields, strict=True):  # one at a time, to name the field
        try:
            CronTrigger(**{argument: field}, timezone=dt.UTC)
        except ValueError as exc:
            raise ValueError(f"the {label} field '{field}' is wrong ({exc}): {CRON_HINT}") from None
    try:  # the time zone changes when it fires, not whether it parses
        trigger = CronTrigger.from_crontab(value, timezone=dt.UTC)
    except ValueError as exc:
        raise ValueError(f"{exc}: {CRON_HINT}") from None
    if trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC)) is None:
        raise ValueError(f"this schedule never fires (no such date): {CRON_HINT}")
    return value


Cron = Annotated[str, AfterValidator(_cron)]


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and what to write instead."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(Section):
    path: Path = Path("var/boussole.sqlite3")


class RoleConfig(Section):
    label: str
    members: list[Identity]
    criteria: list[int] = []
    always: bool = False
    when_answers: dict[str, list[str]] = {}
    decide: Literal["any", "all", "quorum"] = "any"   # one member decides; every member; `quorum` members
    quorum: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _quorum_fits(self) -> RoleConfig:
        if self.decide == "quorum" and self.quorum is None:
            raise ValueError('decide = "quorum" needs the number of members who must approve: add quorum = 2, '
                             "for example")
        if self.decide != "quorum" and self.quorum is not None:
            raise ValueError(f'quorum = {self.quorum} counts only with decide = "quorum" (decide is "{self.decide}"):'
                             ' remove quorum or write decide = "quorum"')
        if self.quorum is not None and self.quorum > len(self.members):
            raise ValueError(f"quorum = {self.quorum} can never be met: the role has {len(self.members)} "
                             f"member(s); write a quorum from 1 to {len(self.members)}")
        return self

    @property
    def approvals_needed(self) -> int | None:
        """How many members must approve; None for every member ("all"), 1 for "any"."""
        if self.decide == "all":
            return None
        return self.quorum if self.decide == "quorum" and self.quorum is not None else 1

    @field_validator("members")
    @classmethod
    def _someone(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a role needs at least one member to decide: add an identity such as "
                             "\"slack:U0123ABC\", \"matrix:@name:server\" or \"console:NAME\"")
        return value

    @property
    def may_be_required(self) -> bool:
        """Whether an assessment can ever need this role's decision."""
        return self.always or bool(self.when_answers) or bool(self.criteria)

    @field_validator("criteria")
    @classmethod
    def _criteria_range(cls, value: list[int]) -> list[int]:
        for number in value:
            if not 0 <= number <= 7:
                raise ValueError(f"criterion {number} does not exist: use numbers from 0 (context) to 7")
        return value


class ReviewConfig(Section):
    """The order in which the required roles are asked: `stages = [["juridique"], ["dpo", "rssi"]]`; the roles
    of a stage together, a stage once every required role of the one before has approved; roles in no stage
    form a last stage. None written: one stage with every required role."""

    stages: list[list[Name]] = []

    @field_validator("stages")
    @classmethod
    def _each_role_once(cls, value: list[list[str]]) -> list[list[str]]:
        seen: set[str] = set()
        for number, stage in enumerate(value, 1):
            if not stage:
                raise ValueError(f"stage {number} is empty: name its roles, e.g. [\"dpo\", \"rssi\"], or remove it")
            twice = sorted(seen & set(stage)) or sorted({r for r in stage if stage.count(r) > 1})
            if twice:
                raise ValueError(f"role(s) {', '.join(twice)} appear in more than one place: name each role once")
            seen.update(stage)
        return value


class DirectionConfig(Section):
    label: str
    managers: list[Identity] = []


class RemindersConfig(Section):
    period_months: int = Field(default=12, ge=1, le=60)
    reservations_period_months: int = Field(default=6, ge=1, le=60)
    before_days: list[Annotated[int, Field(ge=1, le=365)]] = [30, 7]
    escalate_after_days: int = Field(default=14, ge=0, le=365)
    draft_idle_days: int = Field(default=7, ge=1, le=365)
    review_pending_days: int = Field(default=5, ge=1, le=365)
    new_version_delay_days: int = Field(default=90, ge=0, le=730)
    sweep_seconds: int = Field(default=60, ge=5, le=3600)


class ImpactLevelConfig(Section):
    """What an impact level demands (`[impact.levels.N]`, N from 1 to 4)."""

    roles: list[Name] = []                         # roles that must review every use of this level
    period_months: int | None = Field(default=None, ge=1, le=60)   # replaces reminders.period_months
    human_in_every_decision: bool = False          # an agent weighs every individual decision
    dpia_with_personal_data: bool = False          # a DPIA is done whenever personal data are processed
    publish: Literal["level", "detail"] = "level"   # register: detail adds the scores and the weighing answers


def _default_levels() -> dict[int, ImpactLevelConfig]:
    def strict(months: int) -> ImpactLevelConfig:
        return ImpactLevelConfig(roles=["juridique", "dpo"], period_months=months, human_in_every_decision=True,
                                 dpia_with_personal_data=True, publish="detail")
    return {1: ImpactLevelConfig(period_months=24), 2: ImpactLevelConfig(period_months=18), 3: strict(12),
            4: strict(6)}


class ImpactConfig(Section):
    """The impact level I–IV: thresholds on the risk score (% of its maximum), the mitigation that lowers
    it, and each level's obligations; a level not written keeps its defaults."""

    thresholds: list[int] = [25, 50, 75]
    mitigation_threshold: int = Field(default=80, ge=0, le=100)
    mitigation_reduction: int = Field(default=15, ge=0, le=100)
    levels: dict[int, ImpactLevelConfig] = Field(default_factory=_default_levels)

    @field_validator("thresholds")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if len(value) != 3 or any(not 0 <= t <= 100 for t in value) or not value[0] < value[1] < value[2]:
            raise ValueError(f"{value} must be three percentages from 0 to 100, in ascending order, where levels "
                             "II, III and IV start, e.g. thresholds = [25, 50, 75]")
        return value

    @field_validator("levels")
    @classmethod
    def _four_levels(cls, value: dict[int, ImpactLevelConfig]) -> dict[int, ImpactLevelConfig]:
        unknown = sorted(set(value) - set(LEVELS))
        if unknown:
            raise ValueError(f"level(s) {unknown} do not exist: write [impact.levels.1] to [impact.levels.4]")
        return {**_default_levels(), **value}

    def level(self, number: int) -> ImpactLevelConfig:
        return self.levels.get(number, ImpactLevelConfig())

    def policy(self) -> ImpactPolicy:
        """What the sans-I/O core needs of this section."""
        return ImpactPolicy(
            thresholds=(self.thresholds[0], self.thresholds[1], self.thresholds[2]),
            mitigation_threshold=self.mitigation_threshold, mitigation_reduction=self.mitigation_reduction,
            obligations={n: Obligations(human_in_every_decision=c.human_in_every_decision,
                                        dpia_with_personal_data=c.dpia_with_personal_data)
                         for n, c in self.levels.items()})


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}': use a name such as \"Europe/Paris\"") from None
    return value


ZoneName = Annotated[str, AfterValidator(_zone_name)]


class DigestConfig(Section):
    cron: Cron = "0 9 * * mon"
    timezone: ZoneName = "Europe/Paris"  # when unset in the file: the top-level `timezone`
    skip_empty: bool = True


class SlackConfig(Section):
    """Tokens come only from SLACK_BOT_TOKEN, SLACK_APP_TOKEN (socket mode), SLACK_SIGNING_SECRET (http)."""

    enabled: bool = False
    mode: Literal["socket", "http"] = "socket"
    port: int = Field(default=3000, ge=0, le=65535)
    host: str = "0.0.0.0"
    path: str = Field(default="/slack/events", pattern=r"^/[\w\-/]*$")
    api_url: str = Field(default="https://slack.com/api/", pattern=r"^https?://")
    reviewers_channel: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]+$")
    messages_per_second: float = Field(default=1.0, gt=0, le=1000)

    def secrets(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The tokens this mode needs, from the environment; ConfigError naming what is missing."""
        needed = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if self.mode == "socket" else "SLACK_SIGNING_SECRET"]
        missing = [name for name in needed if not environ.get(name)]
        if missing:
            raise ConfigError(f"[slack] is enabled in {self.mode} mode: set the environment variable(s) "
                              f"{', '.join(missing)} (secrets are never read from the config file)")
        return {name: environ[name] for name in needed}


class MatrixConfig(Section):
    """The secret comes only from MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD (and MATRIX_RECOVERY_KEY)."""

    enabled: bool = False
    homeserver: str = Field(default="http://127.0.0.1:8008", pattern=r"^https?://")
    user_id: str = Field(default="@boussole:localhost", pattern=r"^@[^:\s]+:\S+$")
    device_id: str = Field(default="BOUSSOLE", pattern=r"^[A-Za-z0-9_\-]+$")
    store_path: Path = Path("var/matrix-store")
    allowed_users: list[str] = []
    allowed_servers: list[str] = []
    reviewers_room: str | None = Field(default=None, pattern=r"^!\S+:\S+$")
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
        if found and environ.get("MATRIX_RECOVERY_KEY"):  # opens the cross-signing keys in secret storage
            found["MATRIX_RECOVERY_KEY"] = environ["MATRIX_RECOVERY_KEY"]
        if not found:
            raise ConfigError("[matrix] is enabled: set MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD in the environment "
                              "(secrets are never read from the config file)")
        return found


class PagesConfig(Section):
    # a folder of the city's own templates: a file there replaces the packaged one of the same name (bot/pages.py)
    template_dir: Path | None = None


class ConsoleConfig(Section):
    user: str = Field(default="agent", pattern=r"^[\w.\-]+$")


class Config(Section):
    locale: Literal["fr", "en"] = "fr"
    timezone: ZoneName = "Europe/Paris"  # where people read dates and times: chat, digests, reminders
    questionnaire: Path = DEFAULT_QUESTIONNAIRE
    admins: list[Identity] = []
    storage: StorageConfig = StorageConfig()
    roles: dict[Name, RoleConfig] = {}
    directions: dict[Name, DirectionConfig] = {}
    reminders: RemindersConfig = RemindersConfig()
    review: ReviewConfig = ReviewConfig()
    impact: ImpactConfig = ImpactConfig()
    digest: DigestConfig = DigestConfig()
    console: ConsoleConfig = ConsoleConfig()
    pages: PagesConfig = PagesConfig()
    slack: SlackConfig = SlackConfig()
    matrix: MatrixConfig = MatrixConfig()
    _source: Path | None = PrivateAttr(None)  # the file it was read from, to name it in messages

    @model_validator(mode="before")
    @classmethod
    def _digest_follows_timezone(cls, data: object) -> object:
        """`[digest] timezone` defaults to the top-level `timezone`."""
        if not isinstance(data, dict) or "timezone" not in data:
            return data
        digest = data.get("digest", {})
        if isinstance(digest, dict) and "timezone" not in digest:
            return {**data, "digest": {**digest, "timezone": data["timezone"]}}
        return data

    @property
    def zone(self) -> ZoneInfo:
        """The zone dates and times are shown in."""
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _stage_roles_exist(self) -> Config:
        unknown = [role for stage in self.review.stages for role in stage if role not in self.roles]
        if unknown:
            raise ValueError(f"review.stages names {', '.join(repr(r) for r in unknown)}, which is not a configured "
                             f"role: add [roles.NAME] or remove it from the stages (roles: {', '.join(self.roles)})")
        return self

    def stages_of(self, roles: list[str]) -> list[list[str]]:
        """The required roles in their stages, in order; those in no stage form a last stage; no empty stage."""
        staged = [[role for role in stage if role in roles] for stage in self.review.stages]
        rest = [role for role in roles if not any(role in stage for stage in self.review.stages)]
        return [stage for stage in [*staged, rest] if stage]

    def check_against(self, questionnaire: Questionnaire) -> list[str]:
        """Check what needs the questionnaire as well; return (and log) the warnings worth reading at start.

        Raises ConfigError listing every `when_answers` entry that names a question or an answer
        the questionnaire does not have: such a role would silently never be required.
        """
        problems = [problem for name, role in self.roles.items()
                    for problem in _when_answers_problems(name, role, questionnaire, self.directions)]
        problems += self._impact_role_problems()
        if problems:
            raise ConfigError("\n".join(f"{self._where_from()}key {p}" for p in problems))
        warnings = [*self._undecidable_roles(), *_numeric_weekdays("digest.cron", self.digest.cron)]
        if not self.directions:
            warnings += [f"questionnaire question '{q.id}' offers the directions, but the config has none, so it "
                         f"is asked as free text and no manager gets the digests: add a [directions.NAME] section "
                         f"with a label"
                         for q in questionnaire.questions if q.choices_from == "directions"]
        for warning in warnings:
            logger.warning("%s%s", self._where_from(), warning)
        return warnings

    def _impact_role_problems(self) -> list[str]:
        """A role an impact level names must exist; the defaults' roles are required only if configured."""
        written = self.impact.model_fields_set and "levels" in self.impact.model_fields_set
        problems = []
        for number, level in self.impact.levels.items():
            for role in level.roles:
                if role not in self.roles and written and level != _default_levels()[number]:
                    problems.append(f"impact.levels.{number}.roles: '{role}' is not a configured role: "
                                    f"add [roles.{role}] or remove it from level {ROMAN[number]}")
        return problems

    def impact_roles(self, level: int | None) -> list[str]:
        """The configured roles the impact level calls on (a default naming an absent role is skipped)."""
        if level is None:
            return []
        return [role for role in self.impact.level(level).roles if role in self.roles]

    def _where_from(self) -> str:
        return f"{self._source}: " if self._source is not None else ""

    def _undecidable_roles(self) -> list[str]:
        out = []
        for name, role in self.roles.items():
            reasons = [self._cannot_decide(member) for member in role.members]
            if role.may_be_required and all(reasons):
                listing = "; ".join(f"{member}: {reason}" for member, reason in zip(role.members, reasons, strict=True))
                out.append(f"roles.{name}: no member can decide, so an assessment that needs this role can never be "
                           f"approved ({listing}): add a member the bot can reach")
            elif role.may_be_required and any(reasons) and role.decide != "any":
                reachable = len([r for r in reasons if r is None])
                needed = role.approvals_needed or len(role.members)
                if reachable < needed:
                    listing = "; ".join(f"{m}: {r}" for m, r in zip(role.members, reasons, strict=True) if r)
                    out.append(f'roles.{name}: decide = "{role.decide}" needs {needed} approvals, but only {reachable} '
                               f"member(s) can reach the bot ({listing}): add members the bot can reach, or lower "
                               f"the quorum")
        return out

    def _cannot_decide(self, identity: str) -> str | None:
        """Why this identity cannot reach the bot with this config; None when it can."""
        transport, _, who = identity.partition(":")
        if transport == "console":
            if self.slack.enabled or self.matrix.enabled:
                return "a terminal identity, which `boussole run` on Slack or Matrix does not reach"
            return None
        if transport == "slack" and not self.slack.enabled:
            return "Slack is not enabled ([slack] enabled = false)"
        if transport == "matrix":
            if not self.matrix.enabled:
                return "Matrix is not enabled ([matrix] enabled = false)"
            if not self.matrix.allows(who):
                return "not allowed to talk to the bot (see matrix.allowed_users and matrix.allowed_servers)"
        return None

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


def _answers_of(question: Question, directions: Mapping[str, DirectionConfig]) -> list[str]:
    """The values an answer to `question` can take, as `conversations.rules.matches` compares them."""
    if question.type is QuestionType.YESNO:
        values = ["yes", "no"]
    elif question.choices_from == "directions":
        values = list(directions)
    else:
        values = [choice.id for choice in question.choices]
    return [*values, "unknown"] if question.unknown_allowed else values


def _when_answers_problems(name: str, role: RoleConfig, questionnaire: Questionnaire,
                           directions: Mapping[str, DirectionConfig]) -> list[str]:
    """Each `when_answers` entry naming a question or an answer the questionnaire does not have."""
    matchable = ", ".join(q.id for q in questionnaire.questions if _answers_of(q, directions))
    problems = []
    for question_id, values in role.when_answers.items():
        key = f"'roles.{name}.when_answers.{question_id}'"
        if not questionnaire.has(question_id):
            problems.append(f"{key}: questionnaire {questionnaire.version} has no question '{question_id}'; "
                            f"questions whose answers a role can follow: {matchable}")
            continue
        question = questionnaire.question(question_id)
        allowed = _answers_of(question, directions)
        if not allowed:
            problems.append(f"{key}: question '{question_id}' ({question.type}) has no answers to choose from; "
                            f"questions whose answers a role can follow: {matchable}")
            continue
        wrong = [value for value in values if value not in allowed]
        if wrong:
            listing = ", ".join(f"'{value}'" for value in wrong)
            problems.append(f"{key}: {listing} {'is not an answer' if len(wrong) == 1 else 'are not answers'} "
                            f"of question '{question_id}'; its answers are {', '.join(allowed)}")
        elif not values:
            problems.append(f"{key}: the list is empty, so it never requires the role; "
                            f"list answers of question '{question_id}': {', '.join(allowed)}")
    return problems


def _numeric_weekdays(key: str, cron: str) -> list[str]:
    weekday = cron.split()[-1]
    if not re.search(r"(?:^|[,\-])\d", weekday):
        return []
    return [f"{key} '{cron}' gives the weekday as a number, which APScheduler 3 counts from 0 = Monday "
            f"(cron counts from 0 = Sunday): write day names instead, e.g. \"mon-fri\""]


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":  # a table's name, already in the path
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _directory_problem(database: Path) -> str | None:
    """Why the database file cannot be created where it is asked for; None when it can."""
    if database.is_dir():
        return "it is a directory, not a file name"
    existing = database.parent
    try:
        while not existing.exists():
            existing = existing.parent
    except OSError as exc:
        return f"'{existing}' cannot be looked into ({exc.strerror})"
    if not existing.is_dir():
        return f"its directory cannot be created: '{existing}' is a file, not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == database.parent:
            return f"its directory '{existing}' cannot be written to (permission denied or read-only)"
        return (f"its directory '{database.parent}' cannot be created: '{existing}' cannot be written to "
                f"(permission denied or read-only)")
    return None


def load_config(path: Path | str | None) -> Config:
    """Read and validate a TOML config file; None gives the embedded demo default."""
    if path is None:
        return demo_config()
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (copy config.example.toml and edit it)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 text: "
                          f"save the file as UTF-8") from None
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
            elif error["type"] == "missing":
                lines.append(f"{path}: key '{key}' is missing: add it (see config.example.toml)")
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
    if config.pages.template_dir is not None and not config.pages.template_dir.is_absolute():
        pages = config.pages.model_copy(update={"template_dir": (path.parent / config.pages.template_dir).resolve()})
        config = config.model_copy(update={"pages": pages})
    if config.pages.template_dir is not None and not config.pages.template_dir.is_dir():
        raise ConfigError(f"{path}: key 'pages.template_dir': no folder '{config.pages.template_dir}' (relative paths "
                          f"follow the config file)")
    problem = _directory_problem(config.storage.path)
    if problem is not None:
        raise ConfigError(f"{path}: key 'storage.path': cannot keep the database at '{config.storage.path}': "
                          f"{problem}; choose another path, e.g. \"var/boussole.sqlite3\" (relative paths "
                          f"follow the config file)")
    config._source = path
    return config
