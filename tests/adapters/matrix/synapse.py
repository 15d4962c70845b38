"""A real Synapse homeserver for the tests: SQLite, 127.0.0.1 only, users registered by shared secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Synapse:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "synapse.log"

    def configure(self) -> Path:
        config = self.directory / "homeserver.yaml"
        subprocess.run([sys.executable, "-m", "synapse.app.homeserver", "--server-name", "localhost",
                        "--config-path", str(config), "--generate-config", "--report-stats=no",
                        "--data-directory", str(self.directory)], check=True, capture_output=True, timeout=120)
        data = yaml.safe_load(config.read_text())
        generous = {"per_second": 10000, "burst_count": 10000}
        data.update({
            "listeners": [{"port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                           "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}],
            "trusted_key_servers": [], "suppress_key_server_warning": True, "report_stats": False,
            "registration_shared_secret": self.shared_secret, "enable_registration": False,
            "url_preview_enabled": False, "presence": {"enabled": False}, "federation_domain_whitelist": [],
            "rc_message": generous, "rc_registration": generous, "rc_joins": {"local": generous, "remote": generous},
            "rc_login": {"address": generous, "account": generous, "failed_attempts": generous},
            "rc_invites": {"per_room": generous, "per_user": generous, "per_issuer": generous},
            "rc_key_requests": generous, "rc_room_creation": generous,
            "bcrypt_rounds": 4,  # every registration, login and password prompt hashes: the cheapest cost
        })
        data.pop("log_config", None)
        config.write_text(yaml.safe_dump(data))
        return config

    def start(self, timeout: float = 90.0) -> None:
        self.configure()
        self.launch(timeout)

    def launch(self, timeout: float = 90.0) -> None:
        """Start the server on the existing configuration and data (again, after `stop`)."""
        config = self.directory / "homeserver.yaml"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "synapse.app.homeserver", "--config-path",
                                             str(config)], stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.directory)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # poll until it answers
            if self.process.poll() is not None:
                raise RuntimeError(f"Synapse exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Synapse did not start in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None,
                 token: str | None = None) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def register(self, name: str, password: str, *, admin: bool = False) -> dict[str, Any]:
        """Register through the shared-secret admin API; returns user_id and access_token."""
        nonce = self._request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(),
                                 b"admin" if admin else b"notadmin"]))
        return self._request("POST", "/_synapse/admin/v1/register", {
            "nonce": nonce, "username": name, "password": password, "admin": admin, "mac": mac.hexdigest()})

    def limit_messages(self, user_id: str, admin_token: str, per_second: int, burst: int) -> None:
        self._request("POST", f"/_synapse/admin/v1/users/{urllib.request.quote(user_id)}/override_ratelimit",
                      {"messages_per_second": per_second, "burst_count": burst}, token=admin_token)
