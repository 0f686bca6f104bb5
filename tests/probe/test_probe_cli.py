"""``python -m privatelink_operator probe URL``: curl-like output and exit status."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from privatelink_operator.__main__ import main
from privatelink_operator.testing.tlsserver import LocalCA, LoopbackServer, PemCert

HOST = "vpce.probe.test"
StartServer = Callable[..., Awaitable[LoopbackServer]]


@pytest.fixture
def cacert(tmp_path: Path, ca: LocalCA) -> str:
    path = tmp_path / "ca.crt"
    path.write_text(ca.cert_pem)
    return str(path)


# The probe's deadline in these tests: generous, so that a loaded CI machine cannot turn an
# expected answer into a Timeout; none of them is about the deadline.
PROBE_TIMEOUT = "15"


async def run_probe(*argv: str) -> int:
    # The command runs its own event loop; the servers run in the test's loop.
    async with asyncio.timeout(60):
        return await asyncio.to_thread(main, ["probe", "--timeout", PROBE_TIMEOUT, *argv])


async def test_h2_server_prints_what_curl_shows_and_exits_0(
    serve: StartServer, good_cert: PemCert, cacert: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await serve(cert=good_cert, status=204, headers=[("x-served-by", "test")])
    url = f"https://{HOST}:{server.port}/healthz"
    code = await run_probe(url, "--resolve", f"{HOST}:{server.port}:127.0.0.1", "--cacert", cacert)
    out = capsys.readouterr().out
    print(out)
    assert code == 0
    for line in [
        f"* Added {HOST}:{server.port}:127.0.0.1 (--resolve)",
        f"* Connected to {HOST} (127.0.0.1) port {server.port}",
        "* ALPN: offers h2,http/1.1",
        "* ALPN: server accepted h2",
        f"*  subject: CN={HOST},",
        f'*  subjectAltName: host "{HOST}" matched cert\'s "{HOST}"',
        "*  SSL certificate verify ok.",
        "* using HTTP/2",
        "> GET /healthz HTTP/2",
        "< HTTP/2 204",
        "< x-served-by: test",
        "* READY (H2Negotiated",
    ]:
        assert line in out
    assert "SSL connection using TLSv1." in out and "expire date:" in out


async def test_http11_server_exits_1_and_says_h2_was_not_negotiated(
    serve: StartServer, good_cert: PemCert, cacert: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await serve(cert=good_cert, alpn=["http/1.1"])
    url = f"https://{HOST}:{server.port}/"
    code = await run_probe(url, "--resolve", f"{HOST}:{server.port}:127.0.0.1", "--cacert", cacert)
    out = capsys.readouterr().out
    assert code == 1
    assert "* ALPN: server accepted http/1.1" in out and "< HTTP/1.1 200" in out
    assert "* NOT READY (H2NotNegotiated" in out


async def test_unexpected_status_exits_1(
    serve: StartServer, good_cert: PemCert, cacert: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await serve(cert=good_cert, status=503)
    url = f"https://{HOST}:{server.port}/"
    resolve = f"{HOST}:{server.port}:127.0.0.1"
    args = [url, "--resolve", resolve, "--cacert", cacert, "--expect-status", "200"]
    assert await run_probe(*args) == 1
    assert "* NOT READY (UnexpectedStatus" in capsys.readouterr().out
    assert await run_probe(*args, "--expect-status", "503") == 0


async def test_without_the_ca_the_probe_fails_verification(
    serve: StartServer, good_cert: PemCert, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await serve(cert=good_cert)
    url = f"https://{HOST}:{server.port}/"
    assert await run_probe(url, "--resolve", f"{HOST}:{server.port}:127.0.0.1") == 1
    out = capsys.readouterr().out
    assert "* NOT READY (UnknownCA)" in out and "--cacert" in out


async def test_json_output_is_the_status_h2_object(
    serve: StartServer, good_cert: PemCert, cacert: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await serve(cert=good_cert)
    url = f"https://{HOST}:{server.port}/"
    resolve = f"{HOST}:{server.port}:127.0.0.1"
    assert await run_probe(url, "--resolve", resolve, "--cacert", cacert, "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["ready"] is True and status["httpVersion"] == "HTTP/2"
    assert status["certificate"]["dnsNames"] == [HOST]


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["http://h.test/"], "must start with https://"),
        (["https://h.test/", "--resolve", "h.test:443"], "expected HOST:PORT:ADDRESS"),
        (["https://h.test/", "--cacert", "/nonexistent/ca.crt"], "--cacert /nonexistent/ca.crt"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe", *argv]) == 2
    assert complaint in capsys.readouterr().err


async def test_python_m_probe_in_a_subprocess(
    serve: StartServer, good_cert: PemCert, cacert: str
) -> None:
    server = await serve(cert=good_cert)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "privatelink_operator",
        "probe",
        f"https://{HOST}:{server.port}/",
        "--resolve",
        f"{HOST}:{server.port}:127.0.0.1",
        "--cacert",
        cacert,
        "--timeout",
        PROBE_TIMEOUT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(90):  # interpreter start-up, imports and the probe
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "* READY (H2Negotiated" in out.decode()
