"""matrix-nio's client, minus nio's own answers to key verification.

nio 0.26 answers an `m.key.verification.start` by itself (its own key, then a MAC on
confirmation), with a commitment in hexadecimal and the older MAC computed with the newer
base64, which Element's Rust crypto rejects; and it knows neither `request`, `ready`, `done`, nor
the in-room form. Boussole plays verification itself (`sas.py`, `verification.py`): nio's olm
machine is not handed verification events, the to-device callbacks still are.
"""

from __future__ import annotations

from typing import Any

from nio import AsyncClient, KeyVerificationEvent


class BoussoleClient(AsyncClient):  # type: ignore[misc]  # nio ships no types
    def _handle_decrypt_to_device(self, to_device_event: Any) -> Any:
        if isinstance(to_device_event, KeyVerificationEvent):
            return None
        return super()._handle_decrypt_to_device(to_device_event)
