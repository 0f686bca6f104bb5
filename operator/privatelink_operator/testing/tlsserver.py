"""Real TLS / HTTP/2 servers on loopback for tests, the sandbox and end-to-end runs.

``LoopbackServer`` accepts TCP on 127.0.0.1 (or ``::1``) and then behaves as asked:

- ``mode="https"``: TLS with the given certificate and ALPN list (``None``: no ALPN at all, like
  an NLB listener with ALPN policy ``None``), then real HTTP/2 (the ``h2`` library) when ALPN
  chose h2, otherwise HTTP/1.1. Answers every request with ``status``, ``headers`` and ``body``.
- ``mode="plain"``: plain TCP that answers whatever arrives with an HTTP/1.1 400 (a plain HTTP
  server on the port the client thinks is TLS).
- ``mode="stall"``: accepts the TCP connection and never sends a byte.
- ``mode="close"``: closes the connection as soon as the client sends something.

It counts connections at the server side (``stats.accepted``, ``stats.open``,
``stats.max_open``) and records SNI names and requests, so tests can check what really
arrived. ``LocalCA`` wraps trustme (a test dependency, imported lazily) to issue certificates,
including expired ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

import h2.config
import h2.connection
import h2.events
import h2.exceptions

__all__ = ["LocalCA", "LoopbackServer", "PemCert", "RequestRecord", "ServerStats"]

Mode = Literal["https", "plain", "stall", "close"]


@dataclass(frozen=True)
class PemCert:
    """A server certificate chain (leaf first) and its private key, PEM encoded."""

    chain_pem: bytes
    key_pem: bytes


class LocalCA:
    """A throw-away certificate authority (trustme) that issues server certificates."""

    def __init__(self, organization: str = "privatelink-operator test CA") -> None:
        import trustme

        self._ca: Any = trustme.CA(organization_name=organization)

    @property
    def cert_pem(self) -> str:
        """The CA certificate as PEM text, e.g. the content of a ``probe.caBundleRef`` key."""
        return str(self._ca.cert_pem.bytes().decode())

    def issue(
        self,
        *hostnames: str,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> PemCert:
        leaf = self._ca.issue_cert(
            *hostnames, common_name=hostnames[0], not_before=not_before, not_after=not_after
        )
        chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
        return PemCert(chain_pem=chain, key_pem=leaf.private_key_pem.bytes())

    def issue_expired(self, *hostnames: str) -> PemCert:
        now = dt.datetime.now(dt.UTC)
        return self.issue(
            *hostnames, not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
        )


@dataclass(frozen=True)
class RequestRecord:
    http_version: str
    method: str
    path: str
    authority: str
    sni: str | None


@dataclass
class ServerStats:
    accepted: int = 0
    open: int = 0
    max_open: int = 0
    tls_handshakes: int = 0
    tls_failures: int = 0
    alpn: list[str | None] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)


def server_context(cert: PemCert, alpn: Sequence[str] | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(cert.key_pem + b"\n" + cert.chain_pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    if alpn is not None:
        context.set_alpn_protocols(list(alpn))
    return context


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class LoopbackServer:
    """``async with LoopbackServer(cert=..., alpn=["h2"]) as server: ... server.port``."""

    def __init__(
        self,
        *,
        mode: Mode = "https",
        cert: PemCert | None = None,
        alpn: Sequence[str] | None = ("h2", "http/1.1"),
        status: int = 200,
        headers: Sequence[tuple[str, str]] = (("content-type", "text/plain"),),
        body: bytes = b"ok\n",
        response_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if mode == "https" and cert is None:
            raise ValueError("mode 'https' needs a certificate")
        self.mode = mode
        self.status = status
        self.headers = tuple(headers)
        self.body = body
        self.response_delay = response_delay
        self.host = host
        self.port = port
        self.stats = ServerStats()
        self._context = server_context(cert, alpn) if cert is not None else None
        self._pending_sni: dict[int, str | None] = {}
        if self._context is not None:
            self._context.sni_callback = self._on_sni
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _on_sni(self, ssl_object: Any, name: str | None, context: ssl.SSLContext) -> None:
        self._pending_sni[id(ssl_object)] = name

    async def start(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aenter__(self) -> LoopbackServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no client connection is open (the clients closed theirs)."""
        async with asyncio.timeout(timeout):
            while self.stats.open:
                await asyncio.sleep(0.01)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        stats = self.stats
        stats.accepted += 1
        stats.open += 1
        stats.max_open = max(stats.max_open, stats.open)
        try:
            if self.mode == "stall":
                while await reader.read(65536):
                    pass
            elif self.mode == "close":
                await reader.read(1)
            elif self.mode == "plain":
                await reader.read(65536)
                body = b"This is a plain HTTP server.\n"
                writer.write(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n"
                    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
            else:
                await self._serve_tls(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # aclose() cancels handlers; ending quietly keeps asyncio from logging them as errors
            pass
        finally:
            writer.close()
            # aclose() may cancel the handler here too; end quietly and keep the count right.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1)
            stats.open -= 1
            if task is not None:
                self._tasks.discard(task)

    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._context is not None
        try:
            await writer.start_tls(self._context, ssl_handshake_timeout=10)
        except (OSError, ssl.SSLError, ConnectionError, TimeoutError):
            self.stats.tls_failures += 1
            return
        ssl_object = writer.get_extra_info("ssl_object")
        sni = self._pending_sni.pop(id(ssl_object), None)
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        self.stats.tls_handshakes += 1
        self.stats.alpn.append(alpn)
        self.stats.sni.append(sni)
        if alpn == "h2":
            await self._serve_h2(reader, writer, sni)
        else:
            await self._serve_http11(reader, writer, sni)

    async def _serve_http11(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sni: str | None
    ) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, version = [*lines[0].split(" ", 2), "", ""][:3]
            fields = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    fields[name.strip().lower()] = value.strip()
            self.stats.requests.append(
                RequestRecord(version, method, path, fields.get("host", ""), sni)
            )
            if self.response_delay:
                await asyncio.sleep(self.response_delay)
            try:
                phrase = HTTPStatus(self.status).phrase
            except ValueError:
                phrase = "Status"
            extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers)
            writer.write(
                f"HTTP/1.1 {self.status} {phrase}\r\ncontent-length: {len(self.body)}\r\n"
                f"{extra}\r\n".encode("latin-1")
                + self.body
            )
            await writer.drain()
            if fields.get("connection", "").lower() == "close":
                return

    async def _serve_h2(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sni: str | None
    ) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        conn = h2.connection.H2Connection(config=config)
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        await writer.drain()
        requests: dict[int, dict[str, str]] = {}
        while True:
            data = await reader.read(65536)
            if not data:
                return
            try:
                events = conn.receive_data(data)
            except h2.exceptions.ProtocolError:
                writer.write(conn.data_to_send())
                await writer.drain()
                return
            for event in events:
                if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
                    requests[event.stream_id] = {
                        _text(k): _text(v) for k, v in (event.headers or [])
                    }
                elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id is not None:
                    request = requests.pop(event.stream_id, {})
                    self.stats.requests.append(
                        RequestRecord(
                            "HTTP/2",
                            request.get(":method", ""),
                            request.get(":path", ""),
                            request.get(":authority", ""),
                            sni,
                        )
                    )
                    if self.response_delay:
                        writer.write(conn.data_to_send())
                        await writer.drain()
                        await asyncio.sleep(self.response_delay)
                    with contextlib.suppress(h2.exceptions.StreamClosedError):
                        conn.send_headers(
                            event.stream_id,
                            [
                                (":status", str(self.status)),
                                ("content-length", str(len(self.body))),
                                *self.headers,
                            ],
                        )
                        conn.send_data(event.stream_id, self.body, end_stream=True)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    writer.write(conn.data_to_send())
                    await writer.drain()
                    return
            writer.write(conn.data_to_send())
            await writer.drain()
