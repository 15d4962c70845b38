"""The bot's cross-signing identity: its keys, where they rest, and the signature on its device.

Clients mark a device "not verified by its owner" (Element's red shield) unless the owner's
self-signing key signed it. The bot therefore owns the three cross-signing keys of its account:
the master key (its identity), the self-signing key (signs its devices) and the user-signing key
(signs the master keys of the people who verified it). Their private halves rest in the database
(backed up with it) and in the account's secret storage, behind a recovery key shown once.

At each start `ensure` makes the published state right: it publishes the identity when the
account has none, recovers it (database first, then secret storage with MATRIX_RECOVERY_KEY) on a
new install, never replaces an identity it cannot open, and signs the current device again when
its published signature is missing or no longer valid.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.matrix.homeserver import Homeserver
from adapters.matrix.keys import SigningKey, verify_signature
from adapters.matrix.recovery import (
    RecoveryKeyError,
    decode_recovery_key,
    decrypt_secret,
    encode_recovery_key,
    encrypt_secret,
    key_description,
    key_matches,
    new_storage_key,
)
from bot.storage import Database

logger = logging.getLogger(__name__)
SECRETS = {"master": "m.cross_signing.master", "self_signing": "m.cross_signing.self_signing",
           "user_signing": "m.cross_signing.user_signing"}
DEFAULT_KEY = "m.secret_storage.default_key"


class IdentityError(Exception):
    """The bot's identity cannot be made right without someone's action (the message says which)."""


class KeyStore(Protocol):
    """Where the private keys rest between starts (the database)."""

    async def load(self) -> str | None: ...

    async def save(self, text: str) -> None: ...


class DatabaseKeys:
    """The keys in the bot's database (`transport_state`), so a database backup holds them too."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> str | None:
        async with self.db.reading() as tx:
            return await tx.matrix_cross_signing_keys()

    async def save(self, text: str) -> None:
        async with self.db.transaction() as tx:
            await tx.set_matrix_cross_signing_keys(text)


@dataclass(frozen=True)
class CrossSigningKeys:
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        return cls(SigningKey.generate(), SigningKey.generate(), SigningKey.generate())

    def to_json(self, user_id: str) -> str:
        return json.dumps({"user_id": user_id, **{name: getattr(self, name).seed for name in SECRETS}})

    @classmethod
    def from_json(cls, text: str, user_id: str) -> CrossSigningKeys | None:
        data = json.loads(text)
        if data.get("user_id") != user_id:
            return None  # the keys of another account (the config's user_id changed)
        return cls(*(SigningKey.from_seed(data[name]) for name in SECRETS))

    def public(self, user_id: str) -> dict[str, Any]:
        """The body of `keys/device_signing/upload`: the three keys, the two lower ones signed by the master."""
        def key(usage: str, signing: SigningKey) -> dict[str, Any]:
            return {"user_id": user_id, "usage": [usage], "keys": {signing.key_id: signing.public}}
        return {"master_key": key("master", self.master),
                "self_signing_key": self.master.sign(key("self_signing", self.self_signing), user_id),
                "user_signing_key": self.master.sign(key("user_signing", self.user_signing), user_id)}


def only_key(obj: dict[str, Any] | None) -> str | None:
    """The public key of a cross-signing key object (it holds exactly one)."""
    if not obj:
        return None
    keys = list((obj.get("keys") or {}).values())
    return str(keys[0]) if len(keys) == 1 else None


@dataclass(frozen=True)
class Published:
    """What the homeserver shows of one user's keys, from `keys/query`."""

    user_id: str
    master: dict[str, Any] | None
    self_signing: dict[str, Any] | None
    user_signing: dict[str, Any] | None
    devices: dict[str, dict[str, Any]]

    @classmethod
    def from_query(cls, body: dict[str, Any], user_id: str) -> Published:
        return cls(user_id, (body.get("master_keys") or {}).get(user_id),
                   (body.get("self_signing_keys") or {}).get(user_id),
                   (body.get("user_signing_keys") or {}).get(user_id),
                   dict((body.get("device_keys") or {}).get(user_id) or {}))

    @property
    def master_key(self) -> str | None:
        return only_key(self.master)

    def matches(self, keys: CrossSigningKeys) -> bool:
        return (only_key(self.master), only_key(self.self_signing), only_key(self.user_signing)) == (
            keys.master.public, keys.self_signing.public, keys.user_signing.public)

    def device_cross_signed(self, device_id: str) -> bool:
        """The device carries a valid signature of the published self-signing key, itself signed by the master."""
        device, ssk, master = self.devices.get(device_id), only_key(self.self_signing), self.master_key
        if device is None or ssk is None or master is None or self.self_signing is None:
            return False
        return (verify_signature(self.self_signing, self.user_id, master)
                and verify_signature(device, self.user_id, ssk))


@dataclass
class Trust:
    """The outcome of `ensure`: what an operator reads in the log or from `boussole doctor matrix`."""

    identity: str                     # created | stored | recovered | republished | none
    master: str | None = None
    device_signed: bool = False
    signed_now: bool = False
    recovery_key: str | None = None   # only when a new one was made now: shown once, never stored


class CrossSigning:
    def __init__(self, server: Homeserver, store: KeyStore, *, user_id: str, device_id: str,
                 password: str | None = None, recovery_key: str | None = None) -> None:
        self.server = server
        self.store = store
        self.user_id = user_id
        self.device_id = device_id
        self.password = password
        self.recovery_key = recovery_key
        self.keys: CrossSigningKeys | None = None

    async def published(self, user_id: str | None = None) -> Published:
        user = user_id or self.user_id
        return Published.from_query(await self.server.query_keys(user), user)

    async def stored(self) -> CrossSigningKeys | None:
        text = await self.store.load()
        return CrossSigningKeys.from_json(text, self.user_id) if text else None

    async def ensure(self, *, create: bool = True, reset: bool = False) -> Trust:
        """Make the published identity the bot's own and its current device signed by it."""
        published = await self.published()
        keys = None if reset else await self.stored()
        outcome = "stored"
        if keys is not None and published.master_key not in (None, keys.master.public):
            logger.warning("Matrix: the account's cross-signing identity changed since the bot stored its keys")
            keys = None
        if keys is None and published.master_key is not None and not reset:
            keys = await self._recover(published)
            outcome = "recovered"
            await self.store.save(keys.to_json(self.user_id))
        recovery = None
        if keys is None:
            if not create:
                return Trust("none")
            keys = CrossSigningKeys.generate()
            await self.store.save(keys.to_json(self.user_id))  # before publishing: never a published key we lost
            await self.server.upload_cross_signing(keys.public(self.user_id), password=self.password)
            recovery = await self.store_secrets(keys)
            outcome = "created"
            logger.warning("Matrix: new cross-signing identity for %s (master key %s)", self.user_id,
                           keys.master.public)
        elif not published.matches(keys):
            await self.server.upload_cross_signing(keys.public(self.user_id), password=self.password)
            outcome = "republished" if outcome == "stored" else outcome
        self.keys = keys
        published = await self.published()
        signed_now = False
        if not published.device_cross_signed(self.device_id):
            await self.sign_own_device(published)
            signed_now = True
            published = await self.published()
        signed = published.device_cross_signed(self.device_id)
        if not signed:
            raise IdentityError(f"device {self.device_id} is still not cross-signed after signing it")
        return Trust(outcome, keys.master.public, signed, signed_now, recovery)

    async def sign_own_device(self, published: Published) -> None:
        assert self.keys is not None
        device = published.devices.get(self.device_id)
        if device is None:
            raise IdentityError(f"device {self.device_id} has published no keys: it cannot be signed")
        signed = self.keys.self_signing.sign(device, self.user_id)
        await self.server.upload_signatures({self.user_id: {self.device_id: signed}})
        logger.info("Matrix: device %s signed by the bot's self-signing key", self.device_id)

    async def sign_user(self, user_id: str, master_key: str) -> None:
        """Sign someone's master key with the user-signing key (after they verified the bot)."""
        if self.keys is None:
            raise IdentityError("the bot has no cross-signing identity: nothing to sign with")
        published = await self.published(user_id)
        if published.master is None or published.master_key != master_key:
            raise IdentityError(f"the master key of {user_id} is not the one verified")
        signed = self.keys.user_signing.sign(published.master, self.user_id)
        await self.server.upload_signatures({user_id: {master_key: signed}})

    # -- secret storage ---------------------------------------------------------------------------------
    async def store_secrets(self, keys: CrossSigningKeys) -> str:
        """Encrypt the private keys into the account's secret storage under a new key; its recovery key."""
        storage_key = new_storage_key()
        key_id = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        await self.server.set_account_data(f"m.secret_storage.key.{key_id}",
                                           key_description(storage_key, name="Boussole recovery key"))
        for name, secret in SECRETS.items():
            signing: SigningKey = getattr(keys, name)
            await self.server.set_account_data(secret, {"encrypted": {key_id: encrypt_secret(signing.seed, storage_key,
                                                                                             secret)}})
        await self.server.set_account_data(DEFAULT_KEY, {"key": key_id})
        return encode_recovery_key(storage_key)

    async def secret_storage(self) -> tuple[str | None, int]:
        """The default secret-storage key id and how many of the three keys are stored under it."""
        default = await self.server.account_data(DEFAULT_KEY)
        key_id = str((default or {}).get("key") or "") or None
        count = 0
        for secret in SECRETS.values():
            data = await self.server.account_data(secret)
            if key_id and key_id in ((data or {}).get("encrypted") or {}):
                count += 1
        return key_id, count

    async def _recover(self, published: Published) -> CrossSigningKeys:
        if not self.recovery_key:
            raise IdentityError(f"{self.user_id} already has a cross-signing identity (master key "
                                f"{published.master_key}) whose private keys this installation does not hold: "
                                f"set MATRIX_RECOVERY_KEY to the recovery key shown when it was created, or "
                                f"replace it with `boussole matrix setup --reset`")
        storage_key = decode_recovery_key(self.recovery_key)
        default = await self.server.account_data(DEFAULT_KEY)
        key_id = str((default or {}).get("key") or "")
        description = await self.server.account_data(f"m.secret_storage.key.{key_id}") if key_id else None
        if description is None or not key_matches(description, storage_key):
            raise RecoveryKeyError("MATRIX_RECOVERY_KEY does not open this account's secret storage")
        seeds = {}
        for name, secret in SECRETS.items():
            data = await self.server.account_data(secret)
            encrypted = ((data or {}).get("encrypted") or {}).get(key_id)
            if encrypted is None:
                raise IdentityError(f"the secret storage of {self.user_id} holds no {secret}")
            seeds[name] = decrypt_secret(encrypted, storage_key, secret)
        keys = CrossSigningKeys(*(SigningKey.from_seed(seeds[name]) for name in SECRETS))
        if keys.master.public != published.master_key:
            raise IdentityError("the secret storage holds another master key than the published one")
        logger.warning("Matrix: cross-signing identity recovered from secret storage (master key %s)",
                       keys.master.public)
        return keys
