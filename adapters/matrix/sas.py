"""One emoji verification (SAS, `m.sas.v1`) as the bot plays it, sans I/O.

Element and Element X open with `m.key.verification.request` (to a device, or as a message in a
direct room); the bot answers `ready` and lets the other side `start`. The bot then accepts,
committing to its ephemeral key; the other side sends its key, the bot sends its own, and both
show seven emojis. The bot's confirmation is a rule, not a person: it sends its MAC only after
the other side's MAC arrived and checked, i.e. after that person compared the emojis and said
they match, and only for someone the adapter allows to verify it. Its MAC covers its device key
and its master key, so the other side trusts its identity too; `done` closes a requested flow.

Each method takes the content received and returns the messages to send, as (type, content)
without `transaction_id` or `m.relates_to`: the channel (to-device or in-room) adds its own.
vodozemac (through matrix-nio) does the key agreement, the SAS bytes and the MACs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import vodozemac
from nio.crypto.sas import Sas as NioSas

from adapters.matrix.keys import canonical_json, decode_base64, encode_base64

METHOD = "m.sas.v1"
KEY_AGREEMENT = "curve25519-hkdf-sha256"
HASH = "sha256"
MAC_V2 = "hkdf-hmac-sha256.v2"  # the MAC with standard base64
MAC_V1 = "hkdf-hmac-sha256"     # the older one, whose base64 libolm got wrong: still offered by some clients
Message = tuple[str, dict[str, Any]]


class Cancel(Exception):
    """The flow ends: send `m.key.verification.cancel` with this code and reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    def message(self) -> Message:
        return "m.key.verification.cancel", {"code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class Device:
    """A device's side of the flow: its ed25519 key and its owner's master key, as published."""

    user_id: str
    device_id: str
    ed25519: str
    master: str | None = None


@dataclass
class SasFlow:
    me: Device
    their_user: str
    transaction_id: str
    requested: bool                    # opened by a request: `done` ends it
    state: str = "requested"           # requested, ready, accepted, keys, confirmed, done, cancelled
    them: Device | None = None
    their_device_id: str | None = None
    mac_method: str = MAC_V2
    emojis: list[tuple[str, str]] = field(default_factory=list)
    verified_master: str | None = None  # their master key, when their MAC covered it
    their_done: bool = False
    _sas: vodozemac.Sas = field(default_factory=vodozemac.Sas)
    _established: vodozemac.EstablishedSas | None = None

    def _expect(self, *states: str) -> None:
        if self.state not in states:
            raise Cancel("m.unexpected_message", f"unexpected at this point ({self.state})")

    # -- request, ready, start, accept --------------------------------------------------------------
    def request(self, content: dict[str, Any]) -> list[Message]:
        self._expect("requested")
        if METHOD not in (content.get("methods") or []):
            raise Cancel("m.unknown_method", "Boussole verifies by emoji (m.sas.v1) only")
        self.their_device_id = str(content.get("from_device") or "") or None
        self.state = "ready"
        return [("m.key.verification.ready", {"from_device": self.me.device_id, "methods": [METHOD]})]

    def start(self, content: dict[str, Any], them: Device) -> list[Message]:
        self._expect("ready" if self.requested else "requested")
        if them.device_id != content.get("from_device") or them.user_id != self.their_user:
            raise Cancel("m.user_mismatch", "the start comes from another device")
        if content.get("method") != METHOD or KEY_AGREEMENT not in (content.get("key_agreement_protocols") or []) \
                or HASH not in (content.get("hashes") or []) or "emoji" not in \
                (content.get("short_authentication_string") or []):
            raise Cancel("m.unknown_method", "Boussole needs m.sas.v1 with curve25519-hkdf-sha256, sha256, emoji")
        macs = content.get("message_authentication_codes") or []
        if MAC_V2 in macs:
            self.mac_method = MAC_V2
        elif MAC_V1 in macs:
            self.mac_method = MAC_V1
        else:
            raise Cancel("m.unknown_method", "no message authentication code Boussole knows")
        self.them = them
        commitment = hashlib.sha256(self._sas.public_key.to_base64().encode() + canonical_json(content)).digest()
        self.state = "accepted"
        return [("m.key.verification.accept", {
            "method": METHOD, "key_agreement_protocol": KEY_AGREEMENT, "hash": HASH,
            "message_authentication_code": self.mac_method, "short_authentication_string": ["emoji"],
            "commitment": encode_base64(commitment)})]

    # -- keys and emojis -------------------------------------------------------------------------------
    def key(self, content: dict[str, Any]) -> list[Message]:
        self._expect("accepted")
        assert self.them is not None
        their_key = str(content.get("key") or "")
        try:
            self._established = self._sas.diffie_hellman(vodozemac.Curve25519PublicKey.from_base64(their_key))
        except (ValueError, vodozemac.KeyException) as error:
            raise Cancel("m.invalid_message", "the ephemeral key cannot be read") from error
        ours = self._sas.public_key.to_base64()
        # They started: their identity and key come first in the info.
        info = (f"MATRIX_KEY_VERIFICATION_SAS|{self.them.user_id}|{self.them.device_id}|{their_key}|"
                f"{self.me.user_id}|{self.me.device_id}|{ours}|{self.transaction_id}")
        self.emojis = [NioSas.emoji[index] for index in self._established.bytes(info).emoji_indices]
        self.state = "keys"
        return [("m.key.verification.key", {"key": ours})]

    # -- MACs and done -------------------------------------------------------------------------------------
    def _mac(self, value: str, info: str) -> str:
        assert self._established is not None
        if self.mac_method == MAC_V2:
            return self._established.calculate_mac(value, info)
        return self._established.calculate_mac_invalid_base64(value, info)

    def their_mac(self, content: dict[str, Any]) -> None:
        """Check the other side's MAC: the emojis matched on their screen. Raises Cancel if not."""
        self._expect("keys")
        assert self.them is not None
        macs = content.get("mac") or {}
        base = (f"MATRIX_KEY_VERIFICATION_MAC{self.them.user_id}{self.them.device_id}"
                f"{self.me.user_id}{self.me.device_id}{self.transaction_id}")
        if not isinstance(macs, dict) or not _same(self._mac(",".join(sorted(macs)), base + "KEY_IDS"),
                                                   str(content.get("keys", ""))):
            raise Cancel("m.key_mismatch", "the key list's MAC does not match")
        device_key_id = f"ed25519:{self.them.device_id}"
        if device_key_id not in macs or not _same(self._mac(self.them.ed25519, base + device_key_id),
                                                  str(macs[device_key_id])):
            raise Cancel("m.key_mismatch", "the device key's MAC does not match")
        if self.them.master is not None:
            master_key_id = f"ed25519:{self.them.master}"
            if master_key_id in macs:
                if not _same(self._mac(self.them.master, base + master_key_id), str(macs[master_key_id])):
                    raise Cancel("m.key_mismatch", "the master key's MAC does not match")
                self.verified_master = self.them.master
        self.state = "confirmed"

    def confirm(self) -> list[Message]:
        """The bot's MAC (its device key and its master key), and `done` when the flow was requested."""
        self._expect("confirmed")
        assert self.them is not None
        base = (f"MATRIX_KEY_VERIFICATION_MAC{self.me.user_id}{self.me.device_id}"
                f"{self.them.user_id}{self.them.device_id}{self.transaction_id}")
        keys = {f"ed25519:{self.me.device_id}": self.me.ed25519}
        if self.me.master:
            keys[f"ed25519:{self.me.master}"] = self.me.master
        mac = {key_id: self._mac(value, base + key_id) for key_id, value in keys.items()}
        self.state = "done"
        messages: list[Message] = [("m.key.verification.mac", {"mac": mac,
                                                               "keys": self._mac(",".join(sorted(mac)),
                                                                                 base + "KEY_IDS")})]
        if self.requested:
            messages.append(("m.key.verification.done", {}))
        return messages


def _same(a: str, b: str) -> bool:
    """MACs compared in constant time, whatever their base64 padding."""
    def raw(text: str) -> bytes:
        try:
            return decode_base64(text)
        except ValueError:
            return text.encode()
    return hmac.compare_digest(raw(a), raw(b))
