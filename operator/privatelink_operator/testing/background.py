"""Run a loopback TLS/HTTP2 server (``tlsserver.LoopbackServer``) on its own thread.

End-to-end tests and the sandbox are synchronous; the server is asyncio. This starts it on a
private event loop in a daemon thread and stops it cleanly.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .tlsserver import LoopbackServer


class BackgroundServer:
    def __init__(self, **server_args: Any) -> None:
        self._args = server_args
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.server: LoopbackServer | None = None

    def start(self) -> BackgroundServer:
        self._thread.start()

        async def make() -> LoopbackServer:
            return await LoopbackServer(**self._args).start()

        self.server = asyncio.run_coroutine_threadsafe(make(), self._loop).result(10)
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.aclose(), self._loop).result(10)
            self.server = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
