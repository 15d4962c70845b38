"""The client-server API calls nio does not make: cross-signing keys, signatures, account data.

They go through nio's own HTTP session with the bot's access token. An error status, or a
homeserver not reached (status 0), is raised as `HomeserverError` naming the call, the status and
Matrix's `errcode`.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import AsyncClient

logger = logging.getLogger(__name__)
V3 = "/_matrix/client/v3"


class HomeserverError(Exception):
    def __init__(self, call: str, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.errcode = str(body.get("errcode", ""))
        self.body = body
        super().__init__(f"{call}: HTTP {status} {self.errcode} {body.get('error', '')}".rstrip())


class Homeserver:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   *, expect: tuple[int, ...] = (200,)) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if self.client.access_token:
            headers["Authorization"] = f"Bearer {self.client.access_token}"
        call = f"{method} {path.split('?')[0]}"
        try:
            response = await self.client.send(method, path, None if body is None else json.dumps(body), headers)
            try:
                status = response.status
                text = await response.text()
            finally:
                response.release()
        except (aiohttp.ClientError, TimeoutError) as error:  # not reached: said as an error of this call
            raise HomeserverError(call, 0, {"error": f"{type(error).__name__}: {error}"}) from error
        try:
            parsed = json.loads(text) if text else {}
        except ValueError:
            parsed = {"error": text[:200]}
        if status not in expect:
            raise HomeserverError(call, status, parsed if isinstance(parsed, dict) else {})
        return status, parsed

    # -- keys ---------------------------------------------------------------------------------------
    async def query_keys(self, *user_ids: str) -> dict[str, Any]:
        _, body = await self.call("POST", f"{V3}/keys/query", {"device_keys": {u: [] for u in user_ids}})
        return body

    async def upload_cross_signing(self, keys: dict[str, Any], *, password: str | None) -> None:
        """Publish master, self-signing and user-signing keys; answer the homeserver's password prompt.

        A homeserver may ask the account's password (user-interactive auth) before it lets
        cross-signing keys be published, always when they replace earlier ones.
        """
        path = f"{V3}/keys/device_signing/upload"
        status, body = await self.call("POST", path, keys, expect=(200, 401))
        if status == 200:
            return
        flows = [flow.get("stages", []) for flow in body.get("flows", [])]
        if ["m.login.password"] not in flows:
            raise HomeserverError(f"POST {path} (the homeserver asks for {flows}, not a password)", status, body)
        if not password:
            raise HomeserverError(f"POST {path}: the homeserver asks for the account's password: set MATRIX_PASSWORD",
                                  status, body)
        auth = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": self.client.user_id},
                "password": password, "session": body.get("session")}
        await self.call("POST", path, {**keys, "auth": auth})

    async def upload_signatures(self, signed: dict[str, dict[str, dict[str, Any]]]) -> None:
        """Publish signatures: `{user: {device_id or key: the signed object}}`."""
        path = f"{V3}/keys/signatures/upload"
        _, body = await self.call("POST", path, signed)
        if body.get("failures"):
            raise HomeserverError(f"POST {path}", 200, {"errcode": "failures", "error": json.dumps(body["failures"])})

    # -- account data -----------------------------------------------------------------------------------
    def _account_data_path(self, kind: str) -> str:
        return f"{V3}/user/{quote(self.client.user_id, safe='')}/account_data/{quote(kind, safe='')}"

    async def account_data(self, kind: str) -> dict[str, Any] | None:
        status, body = await self.call("GET", self._account_data_path(kind), expect=(200, 404))
        return body if status == 200 else None

    async def set_account_data(self, kind: str, content: dict[str, Any]) -> None:
        await self.call("PUT", self._account_data_path(kind), content)

    async def whoami(self) -> dict[str, Any]:
        _, body = await self.call("GET", f"{V3}/account/whoami")
        return body
