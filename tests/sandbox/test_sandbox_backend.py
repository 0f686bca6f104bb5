"""The sandbox's HTTP/2 backends: each serves h2 over TLS and leaves nothing running."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from privatelink_operator.probe import Prober, ProbeResult, ProbeTarget
from privatelink_operator.sandbox.backend import (
    ApacheBackend,
    Backend,
    PythonBackend,
    choose_backend,
    find_apache,
)
from privatelink_operator.testing.tlsserver import LocalCA

HOST = "orders.vpce.sandbox.test"


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA()


def probe(ca: LocalCA, backend: Backend) -> ProbeResult:
    async def once() -> ProbeResult:
        async with Prober(resolve=[f"{HOST}:{backend.port}:127.0.0.1"]) as prober:
            return await prober.probe(
                ProbeTarget(HOST, port=backend.port, path="/healthz", ca_bundle=ca.cert_pem)
            )

    return asyncio.run(once())


def test_the_python_backend_answers_healthz_over_h2(ca: LocalCA) -> None:
    backend = PythonBackend(ca.issue(HOST))
    backend.start()
    try:
        result = probe(ca, backend)
    finally:
        backend.stop()
    assert result.ready, result.message
    assert (result.http_version, result.status_code) == ("HTTP/2", 200)
    assert backend.pids == []


def test_python_is_chosen_when_asked_or_when_apache_is_missing(
    ca: LocalCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = ca.issue(HOST)
    backend, why = choose_backend("python", cert, tmp_path)
    assert isinstance(backend, PythonBackend) and "--backend python" in why
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("privatelink_operator.sandbox.backend._APACHE_BINARIES", ("apache2",))
    backend, why = choose_backend("auto", cert, tmp_path)
    assert isinstance(backend, PythonBackend) and "not installed" in why
    with pytest.raises(RuntimeError, match="--backend apache"):
        choose_backend("apache", cert, tmp_path)


@pytest.mark.skipif(isinstance(find_apache(), str), reason="Apache httpd is not installed")
def test_apache_serves_h2_with_the_given_certificate_and_stops_with_its_workers(
    ca: LocalCA, tmp_path: Path
) -> None:
    found = find_apache()
    assert not isinstance(found, str)
    backend = ApacheBackend(ca.issue(HOST), tmp_path / "httpd", *found)
    backend.start()
    try:
        result = probe(ca, backend)
        group = backend.pids[0]
    finally:
        backend.stop()
    assert result.ready, result.message
    assert (result.alpn, result.http_version, result.status_code) == ("h2", "HTTP/2", 200)
    assert any(v.startswith("Apache/") for k, v in result.response_headers if k == "server")
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
