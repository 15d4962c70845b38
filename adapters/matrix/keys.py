"""Signed JSON as the Matrix specification defines it, with Ed25519 keys from `cryptography`.

Canonical JSON: keys sorted, no insignificant whitespace, UTF-8 (not \\u escapes); a signature
covers an object without its `signatures` and `unsigned` members. Keys and signatures travel as
unpadded base64. No cryptographic primitive is written here: `cryptography` signs and verifies.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                      allow_nan=False).encode("utf-8")


def encode_base64(data: bytes) -> str:
    """Unpadded standard base64, as Matrix keys and signatures are written."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"not base64: {text[:16]}…") from error


def signable(obj: dict[str, Any]) -> bytes:
    """What a signature covers: the object without `signatures` and `unsigned`, canonically encoded."""
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 key pair, kept as its 32-byte seed (how Matrix stores cross-signing private keys)."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed_base64: str) -> SigningKey:
        seed = decode_base64(seed_base64)
        if len(seed) != 32:
            raise ValueError("an Ed25519 private key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def seed(self) -> str:
        raw = self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                         serialization.NoEncryption())
        return encode_base64(raw)

    @property
    def public(self) -> str:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return encode_base64(raw)

    @property
    def key_id(self) -> str:
        return f"ed25519:{self.public}"

    def sign(self, obj: dict[str, Any], user_id: str) -> dict[str, Any]:
        """A copy of `obj` that also carries this key's signature under `user_id`."""
        signed = copy.deepcopy(obj)
        signed.pop("unsigned", None)
        signature = encode_base64(self.private.sign(signable(obj)))
        signed.setdefault("signatures", {}).setdefault(user_id, {})[self.key_id] = signature
        return signed


def verify_signature(obj: dict[str, Any], user_id: str, public_key: str) -> bool:
    """Whether `obj` carries a valid signature by `public_key` (unpadded base64) under `user_id`."""
    signature = obj.get("signatures", {}).get(user_id, {}).get(f"ed25519:{public_key}")
    if not isinstance(signature, str):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(decode_base64(public_key)).verify(decode_base64(signature), signable(obj))
    except (InvalidSignature, ValueError):
        return False
    return True
