"""Secret storage (SSSS, `m.secret_storage.v1.aes-hmac-sha2`) and its recovery key, sans I/O.

A secret is encrypted for account data as the specification says: HKDF-SHA-256 of the 32-byte
storage key (salt: 32 zero bytes, info: the secret's name) gives an AES-256 key and an HMAC key;
AES-CTR with a random 16-byte IV whose bit 63 is cleared; HMAC-SHA-256 of the ciphertext. The
key's description carries the same encryption of 32 zero bytes under the name "" to check a key.
The recovery key is the storage key written for people: 0x8B 0x01, the key, a parity byte,
in base58 (Bitcoin alphabet), in groups of four. `cryptography` does all the cryptography.
"""

from __future__ import annotations

import base64
import hmac as constant_time
import os
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.matrix.keys import decode_base64

ALGORITHM = "m.secret_storage.v1.aes-hmac-sha2"
PREFIX = bytes([0x8B, 0x01])
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class RecoveryKeyError(ValueError):
    """A recovery key that cannot be read, or that does not open this account's secret storage."""


# -- the recovery key -------------------------------------------------------------------------
def new_storage_key() -> bytes:
    return os.urandom(32)


def _base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(BASE58[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def _base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = BASE58.find(char)
        if index < 0:
            raise RecoveryKeyError(f"'{char}' is not a character of a recovery key")
        number = number * 58 + index
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _parity(data: bytes) -> int:
    parity = 0
    for byte in data:
        parity ^= byte
    return parity


def encode_recovery_key(key: bytes) -> str:
    raw = PREFIX + key
    text = _base58_encode(raw + bytes([_parity(raw)]))
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def decode_recovery_key(text: str) -> bytes:
    raw = _base58_decode("".join(text.split()))
    if len(raw) != len(PREFIX) + 32 + 1 or not raw.startswith(PREFIX):
        raise RecoveryKeyError("this is not a Matrix recovery key (wrong length or prefix)")
    if _parity(raw) != 0:
        raise RecoveryKeyError("this recovery key has a typo (its parity byte does not match)")
    return raw[len(PREFIX):-1]


# -- encrypting secrets ---------------------------------------------------------------------------
def _keys(storage_key: bytes, name: str) -> tuple[bytes, bytes]:
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=bytes(32), info=name.encode("utf-8")).derive(storage_key)
    return derived[:32], derived[32:]


def _mac(hmac_key: bytes, ciphertext: bytes) -> bytes:
    mac = hmac.HMAC(hmac_key, hashes.SHA256())
    mac.update(ciphertext)
    return mac.finalize()


def _ctr(aes_key: bytes, iv: bytes, data: bytes) -> bytes:
    cipher = Cipher(algorithms.AES(aes_key), modes.CTR(iv)).encryptor()
    return cipher.update(data) + cipher.finalize()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encrypt_secret(secret: str, storage_key: bytes, name: str, *, iv: bytes | None = None) -> dict[str, str]:
    aes_key, hmac_key = _keys(storage_key, name)
    if iv is None:
        fresh = bytearray(os.urandom(16))
        fresh[8] &= 0x7F  # bit 63 cleared: the counter cannot wrap (as the specification asks)
        iv = bytes(fresh)
    ciphertext = _ctr(aes_key, iv, secret.encode("utf-8"))
    return {"iv": _b64(iv), "ciphertext": _b64(ciphertext), "mac": _b64(_mac(hmac_key, ciphertext))}


def decrypt_secret(encrypted: dict[str, Any], storage_key: bytes, name: str) -> str:
    aes_key, hmac_key = _keys(storage_key, name)
    try:
        iv, ciphertext, mac = (decode_base64(str(encrypted[k])) for k in ("iv", "ciphertext", "mac"))
    except (KeyError, ValueError) as error:
        raise RecoveryKeyError(f"secret {name} is not stored as {ALGORITHM}") from error
    if not constant_time.compare_digest(_mac(hmac_key, ciphertext), mac):
        raise RecoveryKeyError(f"secret {name} does not open with this recovery key")
    return _ctr(aes_key, iv, ciphertext).decode("utf-8")


def key_description(storage_key: bytes, *, name: str) -> dict[str, str]:
    """The account data `m.secret_storage.key.<id>`: the algorithm and what checks the key."""
    check = encrypt_secret("\0" * 32, storage_key, "")
    return {"algorithm": ALGORITHM, "name": name, "iv": check["iv"], "mac": check["mac"]}


def key_matches(description: dict[str, Any], storage_key: bytes) -> bool:
    if description.get("algorithm") != ALGORITHM or "iv" not in description or "mac" not in description:
        return False
    try:
        expected = decode_base64(str(description["mac"]))
        check = encrypt_secret("\0" * 32, storage_key, "", iv=decode_base64(str(description["iv"])))
    except ValueError:
        return False
    return constant_time.compare_digest(decode_base64(check["mac"]), expected)
