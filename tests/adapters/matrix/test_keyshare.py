"""A person's new device asks the bot for the keys of what it said: given once the device is cross-signed."""

from __future__ import annotations

import logging

from nio import MegolmEvent

from adapters.matrix.homeserver import Homeserver
from adapters.matrix.identity import CrossSigning
from tests.adapters.matrix.conftest import PASSWORD
from tests.adapters.matrix.people import Person
from tests.helpers import wait_until


class MemoryKeys:
    """A person's cross-signing keys, as their first client would keep them."""

    def __init__(self) -> None:
        self.text: str | None = None

    async def load(self) -> str | None:
        return self.text

    async def save(self, text: str) -> None:
        self.text = text


async def test_a_new_device_gets_the_room_keys_once_its_owner_signed_it(matrix, caplog, monkeypatch):
    await matrix.start_bot()
    alice = await matrix.person("alice", encryption=True)
    room = await alice.dm(matrix.bot_id, encrypted=True)
    await alice.say(room, "!boussole aide")
    await alice.next_from_bot(0, lambda e: "Commandes" in e.body)

    second = Person(matrix.synapse.url, alice.user_id, PASSWORD, matrix.tmp / "store-alice-new", encryption=True,
                    device_id="ALICENEW")
    matrix.people.append(second)
    await second.start()
    unread = await wait_until(lambda: next((e for r, e in second.notices if r == room and isinstance(e, MegolmEvent)),
                                           None))
    assert not second.from_bot(room)  # the new device cannot read what the bot said before it existed
    # nio, like Element's Rust crypto, takes forwarded keys only from the person's own verified devices. Some
    # clients also take a key from the device that created the session (the bot's): play such a client.
    monkeypatch.setattr(second.client.olm, "_should_accept_forward", lambda sender, sender_key, event:
                        sender == matrix.bot_id and sender_key == unread.sender_key
                        and event.session_id in second.client.olm.outgoing_key_requests)

    async def ask() -> None:  # (nio takes a forwarded key only for a request whose id is the session's)
        await second.client.to_device(unread.as_key_request(matrix.bot_id, "ALICENEW", None, "BOUSSOLEBOT"))

    caplog.set_level(logging.INFO, logger="adapters.matrix.keyshare")
    await ask()
    await wait_until(lambda: any("not cross-signed by its owner" in r.getMessage() for r in caplog.records))
    assert not second.from_bot(room)

    # Alice cross-signs her devices (as her first client would), then asks again.
    keys = MemoryKeys()
    await CrossSigning(Homeserver(alice.client), keys, user_id=alice.user_id, device_id=alice.client.device_id,
                       password=PASSWORD).ensure()
    await CrossSigning(Homeserver(second.client), keys, user_id=alice.user_id, device_id="ALICENEW",
                       password=PASSWORD).ensure()
    await ask()
    answer = await wait_until(lambda: next((e for e in second.from_bot(room) if "Commandes" in e.body), None))
    assert answer.decrypted
