"""Fixtures for the HTTP/2 probe tests: a throw-away CA and real loopback servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from privatelink_operator.testing.tlsserver import LocalCA, LoopbackServer, PemCert

HOST = "vpce.probe.test"  # test modules repeat it; they do not import conftest

StartServer = Callable[..., Awaitable[LoopbackServer]]


@pytest.fixture(scope="session")
def ca() -> LocalCA:
    return LocalCA()


@pytest.fixture(scope="session")
def untrusted_ca() -> LocalCA:
    return LocalCA("some other CA")


@pytest.fixture(scope="session")
def good_cert(ca: LocalCA) -> PemCert:
    return ca.issue(HOST)


@pytest.fixture
async def serve() -> AsyncIterator[StartServer]:
    """``server = await serve(cert=..., alpn=[...])``; every server is closed afterwards."""
    servers: list[LoopbackServer] = []

    async def start(**kwargs: Any) -> LoopbackServer:
        server = await LoopbackServer(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.aclose()
