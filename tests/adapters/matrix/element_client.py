"""A person on a client built as Element builds it: matrix-js-sdk with its Rust crypto, in Node.

`element/element.mjs` runs the client; this drives it over a pipe, one JSON request a line.
`make test` installs its packages (`npm ci` from the committed package-lock.json).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "element"


class ElementError(Exception):
    pass


class Element:
    def __init__(self, homeserver: str, user_id: str, password: str, log: Path) -> None:
        self.homeserver = homeserver
        self.user_id = user_id
        self.password = password
        self.log = log
        self.device_id = ""
        self.process: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.ids = itertools.count(1)
        self.reader: asyncio.Task[None] | None = None

    async def start(self, *, cross_signing: bool = True) -> Element:
        node = shutil.which("node")
        if node is None or not (HERE / "node_modules" / "matrix-js-sdk").is_dir():
            raise ElementError(f"Node and {HERE}/node_modules are needed: `make test` installs them (npm ci)")
        with self.log.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                node, str(HERE / "element.mjs"), cwd=HERE, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=sink, limit=16 * 1024 * 1024)
        self.reader = asyncio.create_task(self._read())
        user = self.user_id.split(":")[0][1:]
        session = await self.call("login", homeserver=self.homeserver, user=user, password=self.password,
                                  device=f"ELEMENT{user.upper()}", cross_signing=cross_signing)
        self.device_id = session["device_id"]
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            future = self.pending.pop(message["id"], None)
            if future is None or future.done():
                continue
            if message["ok"]:
                future.set_result(message["result"])
            else:
                future.set_exception(ElementError(message["error"]))
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ElementError(f"the client exited; its log: {self.log}"))

    async def call(self, op: str, *, timeout: float = 60.0, **args: Any) -> Any:
        assert self.process is not None and self.process.stdin is not None
        request_id = next(self.ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        self.process.stdin.write((json.dumps({"id": request_id, "op": op, **args}) + "\n").encode())
        await self.process.stdin.drain()
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise ElementError(f"{op} did not answer in {timeout} s; the client's log: {self.log}") from None

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await self.call("stop", timeout=5)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)

    # -- what a person does --------------------------------------------------------------------------
    async def dm(self, user: str) -> str:
        return str(await self.call("dm", user=user))

    async def say(self, room: str, text: str) -> str:
        return str(await self.call("say", room=room, text=text))

    async def messages(self, room: str) -> list[dict[str, Any]]:
        return list(await self.call("messages", room=room))

    async def next_message(self, room: str, after: int = 0, condition: Any = lambda m: True,
                           timeout: float = 30.0) -> dict[str, Any]:
        """The first message from someone else, past the first `after`, that meets `condition`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [m for m in (await self.messages(room))[after:] if condition(m)]
            if found:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no such message in {room}: {(await self.messages(room))[after:]}")
            await asyncio.sleep(0.1)
