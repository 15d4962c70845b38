"""Administrators verify the bot from a client built as Element builds it (matrix-js-sdk, Rust crypto):
a request, ready, emojis, done, to a device or in their direct room; trust both ways afterwards."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from adapters.matrix.keys import verify_signature
from tests.adapters.matrix.element_client import ElementError


async def wait_until_async(check, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


def audit(matrix, action: str) -> list[str]:
    with sqlite3.connect(matrix.app.db.path) as raw:
        return [r[0] for r in raw.execute("SELECT detail FROM audit WHERE action = ? ORDER BY id", (action,))]


def symbols(emojis: list[str]) -> list[str]:
    return [e.split(" ")[0].replace("\ufe0f", "") for e in emojis]


async def assert_trust_both_ways(matrix, admin, emojis: list[str]) -> None:
    done = [json.loads(d) for d in audit(matrix, "matrix_verification_done")]
    assert len(done) == 1 and done[0]["master_key_signed"] and done[0]["device"] == admin.device_id
    assert symbols(done[0]["emojis"]) == symbols(emojis)  # the same seven emojis on both sides
    # Element trusts the bot's identity (the bot's MAC covered its master key) and its device.
    # (Element signs the bot's master key with its own user-signing key: it takes an upload and a key query.)
    async def trusted() -> bool:
        identity = await admin.call("identity", user=matrix.bot_id)
        device = await admin.call("device", user=matrix.bot_id, device="BOUSSOLEBOT")
        return bool(identity["cross_signing_verified"] and device["verified"])
    await wait_until_async(trusted)
    # The bot signed the admin's master key with its user-signing key.
    bot_keys = await matrix.adapter.identity.published()
    theirs = await matrix.adapter.identity.published(admin.user_id)
    usk = next(iter(bot_keys.user_signing["keys"].values()))
    assert verify_signature(theirs.master, matrix.bot_id, usk)


async def test_an_admin_verifies_the_bots_device_from_element(matrix):
    await matrix.start_bot(allowed_users=[matrix.user("admin")])
    admin = await matrix.element("admin")
    await admin.dm(matrix.bot_id)  # a shared encrypted room: Element tracks the bot's devices
    result = await admin.call("verify", user=matrix.bot_id, device="BOUSSOLEBOT")
    assert result["phase"] == "Done" and len(result["emojis"]) == 7
    await assert_trust_both_ways(matrix, admin, result["emojis"])


async def test_an_admin_verifies_the_bot_in_their_direct_room(matrix):
    await matrix.start_bot(allowed_users=[matrix.user("admin")])
    admin = await matrix.element("admin")
    room = await admin.dm(matrix.bot_id)
    result = await admin.call("verify", user=matrix.bot_id, room=room)
    assert result["phase"] == "Done" and result["transaction"].startswith("$")  # the request's event id
    await assert_trust_both_ways(matrix, admin, result["emojis"])


async def test_someone_not_named_in_the_config_cannot_verify_the_bot(matrix):
    await matrix.start_bot()  # alice may talk to the bot (its own server), she is no administrator
    alice = await matrix.element("alice")
    await alice.dm(matrix.bot_id)
    with pytest.raises(ElementError, match=r"cancelled: m\.user"):
        await alice.call("verify", user=matrix.bot_id, device="BOUSSOLEBOT")
    assert len(audit(matrix, "matrix_verification_refused")) == 1
    assert not audit(matrix, "matrix_verification_done")
