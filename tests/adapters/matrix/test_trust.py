"""The bot's cross-signing identity against a real Synapse: its device signed by its owner, the same
identity kept across a new device, a new installation, and a start without the keys."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import sys

from adapters.matrix.formatting import FIELD
from adapters.matrix.identity import Published, only_key
from adapters.matrix.keys import SigningKey
from tests.adapters.matrix.conftest import PASSWORD
from tests.adapters.matrix.test_restart import ROOT, write_config
from tests.helpers import CLEAN, wait_until


async def published(matrix) -> Published:
    return await matrix.adapter.identity.published()


async def test_the_first_start_publishes_an_identity_and_signs_the_device(matrix):
    await matrix.start_bot()
    trust = matrix.adapter.trust
    assert trust is not None and trust.identity == "created" and trust.recovery_key
    keys = await published(matrix)
    assert keys.master_key == trust.master
    assert keys.device_cross_signed("BOUSSOLEBOT")
    assert keys.self_signing is not None and keys.user_signing is not None


async def test_a_new_device_and_a_new_installation_keep_the_identity(matrix, tmp_path, caplog):
    await matrix.start_bot()
    first = matrix.adapter.trust
    assert first is not None and first.recovery_key
    await matrix.stop_bot()

    await matrix.start_bot(device_id="BOUSSOLENEW")  # the same database: the stored keys sign the new device
    again = matrix.adapter.trust
    assert again is not None and (again.identity, again.master, again.signed_now) == ("stored", first.master, True)
    assert again.recovery_key is None
    keys = await published(matrix)
    assert keys.device_cross_signed("BOUSSOLENEW") and keys.device_cross_signed("BOUSSOLEBOT")
    await matrix.stop_bot()

    # A new installation without the recovery key: the identity is not replaced, the device stays unsigned.
    matrix.db_path = tmp_path / "reinstalled.sqlite3"
    with caplog.at_level(logging.ERROR, logger="adapters.matrix.adapter"):
        await matrix.start_bot(device_id="BOUSSOLEREINST", store_path=tmp_path / "store-2")
    assert matrix.adapter.trust is None
    assert any("MATRIX_RECOVERY_KEY" in r.message for r in caplog.records)
    keys = await published(matrix)
    assert keys.master_key == first.master and not keys.device_cross_signed("BOUSSOLEREINST")
    await matrix.stop_bot()

    # With the recovery key, the same installation recovers the identity from secret storage.
    await matrix.start_bot(device_id="BOUSSOLEREINST", store_path=tmp_path / "store-2",
                           secrets={"MATRIX_RECOVERY_KEY": first.recovery_key})
    recovered = matrix.adapter.trust
    assert recovered is not None and (recovered.identity, recovered.master) == ("recovered", first.master)
    assert (await published(matrix)).device_cross_signed("BOUSSOLEREINST")
    async with matrix.app.db.reading() as tx:
        assert await tx.matrix_cross_signing_keys()  # stored again: the next start needs no recovery key


async def test_element_sees_the_bots_messages_from_a_device_its_owner_signed_before_and_after_a_new_device(matrix):
    await matrix.start_bot()
    alice = await matrix.element("alice")
    room = await alice.dm(matrix.bot_id)
    await alice.say(room, "!boussole aide")
    answer = await alice.next_message(room, condition=lambda m: "Commandes" in m["content"].get("body", ""))
    assert answer["encrypted"] and answer["failure"] is None
    assert answer["sender_device"] == "BOUSSOLEBOT"
    assert answer["shield"] == {"colour": "NONE", "reason": None}  # no red shield: "not verified by its owner"
    device = await alice.call("device", user=matrix.bot_id, device="BOUSSOLEBOT")
    assert device["signed_by_owner"] and not device["verified"]  # signed by its owner; alice has not verified the bot
    master = matrix.adapter.trust.master

    await matrix.stop_bot()  # restarted on a new device: signed again, by the same identity
    await matrix.start_bot(device_id="BOUSSOLENEW")
    assert matrix.adapter.trust.master == master
    seen = len(await alice.messages(room))
    await alice.say(room, "!boussole aide")
    answer = await alice.next_message(room, seen, lambda m: "Commandes" in m["content"].get("body", ""))
    assert answer["sender_device"] == "BOUSSOLENEW" and answer["shield"] == {"colour": "NONE", "reason": None}
    assert (await alice.call("device", user=matrix.bot_id, device="BOUSSOLENEW"))["signed_by_owner"]


async def test_element_opens_the_bots_secret_storage_with_the_recovery_key(matrix):
    await matrix.start_bot()
    trust = matrix.adapter.trust
    published_keys = await published(matrix)
    bot = await matrix.element("bot", cross_signing=False)  # someone logging in to the bot's account in Element
    for name, key in (("m.cross_signing.master", published_keys.master),
                      ("m.cross_signing.self_signing", published_keys.self_signing),
                      ("m.cross_signing.user_signing", published_keys.user_signing)):
        opened = await bot.call("read_secret", recovery_key=trust.recovery_key, name=name)
        assert opened["key_matches"]
        assert SigningKey.from_seed(opened["secret"]).public == only_key(key)


async def boussole(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=ROOT, env={**os.environ, **env},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def test_setup_prints_the_recovery_key_once_and_doctor_says_what_ops_need(matrix, tmp_path):
    db, store, config = tmp_path / "ops.sqlite3", tmp_path / "ops-store", tmp_path / "boussole.toml"
    write_config(config, matrix.synapse.url, matrix.bot_id, db, store)
    env = {"MATRIX_PASSWORD": PASSWORD}
    code, out = await boussole("matrix", "setup", "--config", str(config), env=env)
    assert code == 0, out
    assert "cross-signing identity created" in out and "device BOUSSOLERUN signed" in out
    assert re.search(r"^    (\S{4} ){11}\S{1,4}$", out, re.MULTILINE), out  # the recovery key, on its own line
    code, out = await boussole("matrix", "setup", "--config", str(config), env=env)  # again: nothing to do
    assert code == 0 and "identity stored" in out and "(already)" in out and "Recovery key" not in out, out

    code, out = await boussole("doctor", "matrix", "--config", str(config), env=env)
    assert code == 1, out  # the bot has never synced against this database
    for expected in (f"ok  homeserver {matrix.synapse.url} reached", f"ok  logged in as {matrix.bot_id}, device "
                     "BOUSSOLERUN", "ok  device BOUSSOLERUN signed by the bot's self-signing key",
                     "ok  cross-signing published: master key", "3/3 cross-signing keys stored",
                     "0 joined room(s), 0 encrypted", "NO  last sync: never"):
        assert expected in out, out

    matrix.db_path = db
    await matrix.start_bot(device_id="BOUSSOLERUN", store_path=store)
    alice = await matrix.person("alice", encryption=True)
    await alice.dm(matrix.bot_id, encrypted=True)
    await wait_until(lambda: matrix.adapter.client.rooms)
    await matrix.stop_bot()
    code, out = await boussole("doctor", "matrix", "--config", str(config), env=env)
    assert code == 0, out
    assert "1 joined room(s), 1 encrypted" in out and "ok  last sync stored at" in out, out
    master = out.split("master key ", 1)[1].split()[0]

    # A reset replaces the identity (Synapse asks for the password again: the bot gives it), and the device,
    # whose signature was made by the old self-signing key, is signed again by the new one.
    code, out = await boussole("matrix", "setup", "--reset", "--config", str(config), env=env)
    assert code == 0 and "identity created" in out and "(now)" in out and master not in out, out
    code, out = await boussole("doctor", "matrix", "--config", str(config), env=env)
    assert code == 0 and "ok  device BOUSSOLERUN signed" in out, out


async def test_an_interview_from_element_that_excludes_insecure_devices(matrix):
    """Element's "only signed devices" mode: it encrypts only for, and reads only from, cross-signed devices."""
    await matrix.start_bot()
    alice = await matrix.element("alice")
    await alice.call("isolation", mode="signed")
    room = await alice.dm(matrix.bot_id)
    await alice.say(room, "!boussole nouveau")
    asked: list[str] = []
    seen = 0
    for _ in range(4):
        question = await alice.next_message(room, seen, lambda m: (m["content"].get(FIELD) or {}).get("question"))
        seen = [m["event_id"] for m in await alice.messages(room)].index(question["event_id"]) + 1
        assert question["failure"] is None and question["shield"] == {"colour": "NONE", "reason": None}
        qid = question["content"][FIELD]["question"]
        asked.append(qid)
        await alice.say(room, CLEAN[qid])
    await alice.next_message(room, seen, lambda m: (m["content"].get(FIELD) or {}).get("question"))
    with sqlite3.connect(matrix.app.db.path) as raw:
        answered = [r[0] for r in raw.execute("SELECT question_id FROM answers ORDER BY id")]
    assert answered == asked  # the bot read every answer: Element shared its keys with the bot's signed device
    assert all(m["failure"] is None for m in await alice.messages(room))


async def test_doctor_says_when_the_homeserver_is_not_reached(app, tmp_path):
    from adapters.matrix.admin import doctor
    from bot.config import MatrixConfig
    from tests.adapters.matrix.synapse import free_port

    config = MatrixConfig(enabled=True, homeserver=f"http://127.0.0.1:{free_port()}", user_id="@bot:ville.fr",
                          store_path=tmp_path / "store")
    report = await doctor(app, config, {"MATRIX_PASSWORD": "secret"})
    assert not report.ok
    assert report.lines[0].startswith("NO  homeserver http://127.0.0.1:") and "not reached" in report.lines[0]
