"""Signed JSON, the recovery key and secret storage, without a homeserver."""

from __future__ import annotations

import pytest

from adapters.matrix.identity import CrossSigningKeys, Published
from adapters.matrix.keys import SigningKey, canonical_json, verify_signature
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


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": {"d": [1, "é"], "c": None}}) == '{"a":{"c":null,"d":[1,"é"]},"b":1}'.encode()


def test_a_signature_ignores_unsigned_and_other_signatures_and_breaks_on_any_change():
    key = SigningKey.generate()
    device = {"user_id": "@b:x", "device_id": "D", "keys": {"ed25519:D": "k"}, "unsigned": {"name": "n"},
              "signatures": {"@b:x": {"ed25519:D": "self"}}}
    signed = key.sign(device, "@b:x")
    assert "unsigned" not in signed and signed["signatures"]["@b:x"]["ed25519:D"] == "self"
    assert verify_signature({**signed, "unsigned": {"other": 1}}, "@b:x", key.public)
    assert not verify_signature({**signed, "device_id": "E"}, "@b:x", key.public)
    assert not verify_signature(signed, "@other:x", key.public)
    assert SigningKey.from_seed(key.seed).public == key.public


def test_a_published_device_counts_as_cross_signed_only_through_the_whole_chain():
    keys = CrossSigningKeys.generate()
    body = keys.public("@b:x")
    device = keys.self_signing.sign({"user_id": "@b:x", "device_id": "D", "keys": {}}, "@b:x")
    query = {"master_keys": {"@b:x": body["master_key"]}, "self_signing_keys": {"@b:x": body["self_signing_key"]},
             "device_keys": {"@b:x": {"D": device}}}
    assert Published.from_query(query, "@b:x").device_cross_signed("D")
    other = CrossSigningKeys.generate().public("@b:x")
    assert not Published.from_query({**query, "master_keys": {"@b:x": other["master_key"]}},
                                    "@b:x").device_cross_signed("D")
    assert not Published.from_query(query, "@b:x").device_cross_signed("E")


def test_the_recovery_key_round_trips_and_a_typo_is_caught():
    key = new_storage_key()
    text = encode_recovery_key(key)
    assert len(text.split()) == 12 and all(len(group) == 4 for group in text.split()[:-1])
    assert decode_recovery_key(text) == key
    assert decode_recovery_key(text.replace(" ", "")) == key
    typo = text[:5] + ("2" if text[5] != "2" else "3") + text[6:]
    with pytest.raises(RecoveryKeyError):
        decode_recovery_key(typo)
    with pytest.raises(RecoveryKeyError):
        decode_recovery_key("0OIl")


def test_secret_storage_opens_only_with_its_key_and_name():
    key, other = new_storage_key(), new_storage_key()
    secret = encrypt_secret("seed", key, "m.cross_signing.master")
    assert decrypt_secret(secret, key, "m.cross_signing.master") == "seed"
    with pytest.raises(RecoveryKeyError):
        decrypt_secret(secret, other, "m.cross_signing.master")
    with pytest.raises(RecoveryKeyError):
        decrypt_secret(secret, key, "m.cross_signing.self_signing")
    description = key_description(key, name="test")
    assert key_matches(description, key) and not key_matches(description, other)
