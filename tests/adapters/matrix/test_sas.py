"""The bot's side of an emoji verification, against a peer played with vodozemac (no homeserver)."""

from __future__ import annotations

import pytest
import vodozemac
from nio.crypto.sas import Sas

from adapters.matrix.sas import MAC_V2, Cancel, Device, SasFlow

ME = Device("@bot:x", "BOT", "botdevicekey", "botmasterkey")
THEM = Device("@admin:x", "ADMIN", "admindevicekey", "adminmasterkey")
START = {"from_device": "ADMIN", "method": "m.sas.v1", "key_agreement_protocols": ["curve25519-hkdf-sha256"],
         "hashes": ["sha256"], "message_authentication_codes": [MAC_V2, "hkdf-hmac-sha256"],
         "short_authentication_string": ["decimal", "emoji"]}


def ready_flow() -> SasFlow:
    flow = SasFlow(me=ME, their_user="@admin:x", transaction_id="txn", requested=True)
    (kind, content), = flow.request({"from_device": "ADMIN", "methods": ["m.sas.v1", "m.qr_code.show.v1"]})
    assert kind == "m.key.verification.ready" and content == {"from_device": "BOT", "methods": ["m.sas.v1"]}
    return flow


def test_a_whole_flow_the_peer_confirming_first():
    flow = ready_flow()
    (kind, accept), = flow.start(START, THEM)
    assert kind == "m.key.verification.accept" and accept["message_authentication_code"] == MAC_V2
    peer = vodozemac.Sas()
    (_, key), = flow.key({"key": peer.public_key.to_base64()})
    shared = peer.diffie_hellman(vodozemac.Curve25519PublicKey.from_base64(key["key"]))
    info = (f"MATRIX_KEY_VERIFICATION_SAS|@admin:x|ADMIN|{peer.public_key.to_base64()}|@bot:x|BOT|{key['key']}|txn")
    assert list(shared.bytes(info).emoji_indices) == [Sas.emoji.index(e) for e in flow.emojis]  # the same 7
    base = "MATRIX_KEY_VERIFICATION_MAC@admin:xADMIN@bot:xBOTtxn"
    macs = {"ed25519:ADMIN": shared.calculate_mac("admindevicekey", base + "ed25519:ADMIN"),
            "ed25519:adminmasterkey": shared.calculate_mac("adminmasterkey", base + "ed25519:adminmasterkey")}
    flow.their_mac({"mac": macs, "keys": shared.calculate_mac(",".join(sorted(macs)), base + "KEY_IDS")})
    assert flow.verified_master == "adminmasterkey"
    (mac_kind, ours), (done_kind, _) = flow.confirm()
    assert (mac_kind, done_kind) == ("m.key.verification.mac", "m.key.verification.done")
    assert set(ours["mac"]) == {"ed25519:BOT", "ed25519:botmasterkey"}
    base = "MATRIX_KEY_VERIFICATION_MAC@bot:xBOT@admin:xADMINtxn"
    assert ours["mac"]["ed25519:botmasterkey"] == shared.calculate_mac("botmasterkey", base + "ed25519:botmasterkey")


def test_a_wrong_mac_cancels_and_nothing_is_confirmed():
    flow = ready_flow()
    flow.start(START, THEM)
    flow.key({"key": vodozemac.Sas().public_key.to_base64()})
    with pytest.raises(Cancel) as cancel:
        flow.their_mac({"mac": {"ed25519:ADMIN": "AAAA"}, "keys": "AAAA"})
    assert cancel.value.code == "m.key_mismatch"
    with pytest.raises(Cancel):
        flow.confirm()


@pytest.mark.parametrize(("change", "code"), [
    ({"method": "m.reciprocate.v1"}, "m.unknown_method"),
    ({"message_authentication_codes": ["hmac-sha256"]}, "m.unknown_method"),
    ({"short_authentication_string": ["decimal"]}, "m.unknown_method"),
    ({"from_device": "OTHER"}, "m.user_mismatch"),
])
def test_a_start_the_bot_cannot_play_is_cancelled(change, code):
    with pytest.raises(Cancel) as cancel:
        ready_flow().start({**START, **change}, THEM)
    assert cancel.value.code == code


def test_steps_out_of_order_are_cancelled():
    flow = SasFlow(me=ME, their_user="@admin:x", transaction_id="txn", requested=True)
    with pytest.raises(Cancel):
        flow.start(START, THEM)  # no ready yet
    with pytest.raises(Cancel):
        ready_flow().key({"key": vodozemac.Sas().public_key.to_base64()})  # no start yet
