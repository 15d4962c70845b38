"""What operators run by hand: `boussole matrix setup` and `boussole doctor matrix`.

Each returns the lines to print and whether all is well; the command line prints and exits.
`setup` logs in on the configured device (so, with the bot stopped: they share its key store).
`doctor` only reads: it logs in without encryption on the same device id (a password login adds an
access token to that device, never a new device) or uses MATRIX_ACCESS_TOKEN, and never syncs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from nio import AsyncClient, AsyncClientConfig, LoginError

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.homeserver import V3, Homeserver, HomeserverError
from adapters.matrix.identity import CrossSigning, DatabaseKeys, IdentityError
from adapters.matrix.recovery import RecoveryKeyError
from bot.app import Boussole
from bot.config import MatrixConfig

logger = logging.getLogger(__name__)


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def say(self, line: str, *, ok: bool = True) -> None:
        self.lines.append(f"{'ok ' if ok else 'NO '} {line}")
        self.ok = self.ok and ok


async def setup(app: Boussole, config: MatrixConfig, secrets: Mapping[str, str], *, reset: bool = False,
                new_recovery_key: bool = False) -> Report:
    """Create (or with `reset`, replace) the bot's cross-signing identity and sign its device."""
    report = Report()
    if not config.encryption:
        report.say("[matrix] encryption = false: the bot has no device keys to cross-sign", ok=False)
        return report
    adapter = MatrixAdapter(app, config, secrets)
    try:
        await adapter.connect()
        report.say(f"logged in as {config.user_id}, device {config.device_id}")
        trust = await adapter.identity.ensure(create=True, reset=reset)
        report.say(f"cross-signing identity {trust.identity}: master key {trust.master}")
        report.say(f"device {config.device_id} signed by the self-signing key"
                   + (" (now)" if trust.signed_now else " (already)"))
        if new_recovery_key and trust.recovery_key is None and adapter.identity.keys is not None:
            trust.recovery_key = await adapter.identity.store_secrets(adapter.identity.keys)
        if trust.recovery_key:
            report.lines += ["", "Recovery key (shown once: keep it in the city's password safe; with",
                             "MATRIX_RECOVERY_KEY set to it, a new installation recovers this identity):", "",
                             f"    {trust.recovery_key}", ""]
    except (IdentityError, HomeserverError, RecoveryKeyError, ConnectionError) as error:
        report.say(str(error), ok=False)
    finally:
        await adapter.client.close()
    return report


async def doctor(app: Boussole, config: MatrixConfig, secrets: Mapping[str, str]) -> Report:
    report = Report()
    client = AsyncClient(config.homeserver, config.user_id, device_id=config.device_id,
                         config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False))
    try:
        await _doctor(report, app, config, secrets, client)
    finally:
        await client.close()
    return report


async def _doctor(report: Report, app: Boussole, config: MatrixConfig, secrets: Mapping[str, str],
                  client: AsyncClient) -> None:
    server = Homeserver(client)
    try:
        _, versions = await server.call("GET", "/_matrix/client/versions")
    except HomeserverError as error:  # refused, unresolvable, TLS, not a homeserver: all the same to an operator
        report.say(f"homeserver {config.homeserver} not reached: {error}", ok=False)
        return
    report.say(f"homeserver {config.homeserver} reached (spec versions up to {versions.get('versions', ['?'])[-1]})")
    if "MATRIX_ACCESS_TOKEN" in secrets:
        client.restore_login(config.user_id, config.device_id, secrets["MATRIX_ACCESS_TOKEN"])
    else:
        response = await client.login(secrets["MATRIX_PASSWORD"], device_name="Boussole")
        if isinstance(response, LoginError):
            report.say(f"login as {config.user_id} refused: {response.message}", ok=False)
            return
    try:
        who = await server.whoami()
    except HomeserverError as error:
        report.say(f"not logged in: {error}", ok=False)
        return
    report.say(f"logged in as {who.get('user_id')}, device {who.get('device_id', config.device_id)}",
               ok=who.get("user_id") == config.user_id)
    if config.encryption:
        await _cross_signing(report, app, config, server)
    else:
        report.say("encryption is off ([matrix] encryption = false): no device keys, no cross-signing")
    await _rooms(report, server)
    async with app.db.reading() as tx:
        token, at = await tx.matrix_sync_token()
    if token is None:
        report.say("last sync: never (the bot has not run against this database)", ok=False)
    else:
        report.say(f"last sync stored at {at or 'an unknown time'} ({_ago(at)})")


async def _cross_signing(report: Report, app: Boussole, config: MatrixConfig, server: Homeserver) -> None:
    identity = CrossSigning(server, DatabaseKeys(app.db), user_id=config.user_id, device_id=config.device_id)
    published = await identity.published()
    device = published.devices.get(config.device_id)
    report.say(f"device {config.device_id} keys published" if device else
               f"device {config.device_id} has published no keys (has the bot started?)", ok=device is not None)
    if published.master_key is None:
        report.say("cross-signing not published: run `boussole matrix setup`", ok=False)
        return
    report.say(f"cross-signing published: master key {published.master_key}")
    stored = await identity.stored()
    if stored is None:
        report.say("the database holds no cross-signing keys: set MATRIX_RECOVERY_KEY and restart", ok=False)
    elif not published.matches(stored):
        report.say("the database's cross-signing keys are not the published ones", ok=False)
    signed = published.device_cross_signed(config.device_id)
    report.say(f"device {config.device_id} " + ("signed by the bot's self-signing key" if signed else
                                                "NOT signed: clients show a red shield; restart the bot"), ok=signed)
    key_id, count = await identity.secret_storage()
    report.say(f"secret storage: key {key_id}, {count}/3 cross-signing keys stored" if key_id else
               "secret storage: none (run `boussole matrix setup --new-recovery-key`)", ok=count == 3)


async def _rooms(report: Report, server: Homeserver) -> None:
    _, joined = await server.call("GET", f"{V3}/joined_rooms")
    rooms = list(joined.get("joined_rooms", []))
    encrypted = 0
    for room_id in rooms:
        status, _ = await server.call("GET", f"{V3}/rooms/{quote(room_id, safe='')}/state/m.room.encryption/",
                                      expect=(200, 404))
        encrypted += status == 200
    report.say(f"{len(rooms)} joined room(s), {encrypted} encrypted")


def _ago(at: str | None) -> str:
    if not at:
        return "?"
    try:
        seconds = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(at)).total_seconds()
    except ValueError:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
