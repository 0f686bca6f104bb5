"""The shared prober: httpx over httpcore connections with a network backend of ours.

Why a network backend of our own (``_Backend``) under a stock httpx client:

- ``--probe-resolve HOST:PORT:ADDRESS``: httpcore asks the backend to connect to HOST and then
  starts TLS with ``server_hostname=HOST``, so redirecting only the TCP connect keeps SNI,
  certificate verification and the Host header on HOST - exactly curl's ``--resolve``.
- Phases: the backend records (in a per-probe context variable) whether the probe was resolving,
  connecting, in the TLS handshake or in the HTTP exchange, so a timeout or a closed connection
  gets the right explanation ("accepted TCP but never answered the TLS ClientHello").
- ALPN order: httpcore offers ``http/1.1, h2``; a server that honours the client's preference
  would then pick HTTP/1.1. The backend re-sets ``h2, http/1.1`` (curl's and browsers' order)
  immediately before the handshake, so the probe sees what an HTTP/2 client sees.
- Socket accounting: every TCP connection is counted while open (``Prober.stats``).

There is no connection pool and nothing is kept alive: every probe makes a fresh TCP + TLS
connection of its own (``_Transport``; concurrent probes of one endpoint never share one) and
closes it with the response, so certificate rotation or expiry and ALPN policy changes on the
listener show up on the next probe, and idle probe connections never pile up (an NLB resets
idle flows after 350 s anyway). One probe uses at most one connection, and a semaphore of
``max_connections`` slots bounds the sockets open at once across all endpoints and trust
bundles. Certificate verification is always on (system trust plus the target's CA bundle).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import os
import socket
import ssl
import time
import typing
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import httpcore
import httpx

from .. import __version__
from .resolve import ResolveMap, ResolveRule
from .result import (
    ALPN_OFFERED,
    CertificateInfo,
    Phase,
    ProbeResult,
    ProbeTarget,
    Reason,
    classify_failure,
    evaluate_response,
)

__all__ = ["USER_AGENT", "Prober", "ProberStats", "Resolver", "system_trust_context"]

log = logging.getLogger(__name__)

#: ``async (host, port) -> addresses``; the default asks the system resolver (getaddrinfo).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_TRUST_EXTENSION = "privatelink_operator.trust"
_MAX_TRUST_CONTEXTS = 64
USER_AGENT = f"privatelink-operator/{__version__} (h2 probe)"


# --------------------------------------------------------------------------------------------
# Per-probe trace, filled in by the backend


@dataclass
class _TlsInfo:
    version: str | None
    cipher: str | None
    alpn: str | None
    certificate: CertificateInfo | None


def _tls_info(stream: object) -> _TlsInfo | None:
    get = getattr(stream, "get_extra_info", None)
    if get is None:
        return None
    ssl_object = get("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    cipher = ssl_object.cipher()
    peercert = ssl_object.getpeercert()
    return _TlsInfo(
        version=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        alpn=ssl_object.selected_alpn_protocol(),
        certificate=CertificateInfo.from_peercert(peercert) if peercert else None,
    )


def _peer(stream: object) -> tuple[str, int] | None:
    get = getattr(stream, "get_extra_info", None)
    address = get("server_addr") if get is not None else None
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None


@dataclass
class _Trace:
    phase: Phase = Phase.QUEUED
    addresses: tuple[str, ...] = ()
    override: bool = False
    peer: tuple[str, int] | None = None
    tls: _TlsInfo | None = None


_TRACE: contextvars.ContextVar[_Trace | None] = contextvars.ContextVar(
    "privatelink_operator_probe_trace", default=None
)


# --------------------------------------------------------------------------------------------
# Network backend: resolve overrides, phases, ALPN order, socket accounting


@dataclass(frozen=True)
class ProberStats:
    """TCP connections made by a prober: in total, open now, and the most open at once."""

    opened: int
    open: int
    max_open: int


class _Sockets:
    def __init__(self) -> None:
        self.opened = 0
        self.open = 0
        self.max_open = 0

    def acquire(self) -> _SocketToken:
        self.opened += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        return _SocketToken(self)


class _SocketToken:
    def __init__(self, owner: _Sockets) -> None:
        self._owner: _Sockets | None = owner

    def release(self) -> None:
        if self._owner is not None:
            self._owner.open -= 1
            self._owner = None


class _CountedStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, token: _SocketToken) -> None:
        self._inner = inner
        self._token = token

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._token.release()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        trace = _TRACE.get()
        if trace is not None:
            trace.phase = Phase.TLS
        # httpcore has just set ["http/1.1", "h2"]; nothing runs between this line and
        # wrap_bio() (the first await inside is the handshake), so the order is ours.
        ssl_context.set_alpn_protocols(list(ALPN_OFFERED))
        try:
            stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            # httpcore closes the socket on errors but not on cancellation (our deadline).
            try:
                with contextlib.suppress(Exception):
                    await self._inner.aclose()
            finally:
                self._token.release()
            raise
        if trace is not None:
            trace.tls = _tls_info(stream)
            trace.phase = Phase.HTTP
        return _CountedStream(stream, self._token)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


async def _system_resolver(host: str, port: int) -> Sequence[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self, resolve: ResolveMap, resolver: Resolver | None) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._resolve = resolve
        self._resolver = resolver or _system_resolver
        self.sockets = _Sockets()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        trace = _TRACE.get() or _Trace()
        addresses = self._resolve.lookup(host, port)
        if addresses is not None:
            trace.override = True
        else:
            trace.phase = Phase.DNS
            try:
                with anyio.fail_after(timeout):
                    addresses = tuple(await self._resolver(host, port))
            # Wrapped like httpcore does (the original as the argument): its pool re-raises
            # ``from None``, and the classifier looks into ``args``.
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(exc) from exc
            except OSError as exc:
                raise httpcore.ConnectError(exc) from exc
            if not addresses:
                raise httpcore.ConnectError(socket.gaierror(socket.EAI_NONAME, "no addresses"))
        trace.addresses = addresses
        trace.phase = Phase.CONNECT
        # Addresses are tried in order, each with the whole connect timeout; the probe's overall
        # deadline still bounds the total.
        failure: Exception | None = None
        for address in addresses:
            trace.peer = (address, port)
            try:
                stream = await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            trace.peer = _peer(stream) or trace.peer
            return _CountedStream(stream, self.sockets.acquire())
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - the probe never uses UNIX sockets
        raise httpcore.ConnectError("the HTTP/2 probe does not use UNIX sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# --------------------------------------------------------------------------------------------
# Transport: one httpx client, one httpcore connection per probe (no pool)


class _ResponseStream(httpx.AsyncByteStream):
    """The response body; closing it closes the probe's own connection too."""

    def __init__(
        self, stream: AsyncIterable[bytes], on_close: Callable[[], Awaitable[None]]
    ) -> None:
        self._stream = stream
        self._on_close = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._stream, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await self._on_close()


class _Transport(httpx.AsyncBaseTransport):
    """httpx's AsyncHTTPTransport, minus proxies and the connection pool, plus our backend.

    Every request gets a new ``httpcore.AsyncHTTPConnection`` of its own, closed with the
    response. No pool on purpose: httpcore's pool with ``max_keepalive_connections=0`` closes
    any connection it sees idle when *another* request enters or leaves it, and a new HTTP/2
    connection is idle for one event-loop turn between its TLS handshake and its first request
    - so concurrent probes sharing a pool intermittently got their fresh connection closed under
    them (ProtocolError "SEND_SETTINGS in state CLOSED", WriteError, or a silent second
    connection). A pool would also multiplex concurrent probes of one endpoint over a single
    HTTP/2 connection. The Prober's semaphore bounds the connections instead.
    """

    def __init__(self, backend: _Backend) -> None:
        self._backend = backend
        self._connections: set[httpcore.AsyncHTTPConnection] = set()

    async def _discard(self, connection: httpcore.AsyncHTTPConnection) -> None:
        self._connections.discard(connection)
        await connection.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        extensions = dict(request.extensions)
        ssl_context = extensions.pop(_TRUST_EXTENSION)
        assert isinstance(ssl_context, ssl.SSLContext)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=extensions,
        )
        connection = httpcore.AsyncHTTPConnection(
            origin=core_request.url.origin,
            ssl_context=ssl_context,
            http1=True,
            http2=True,
            retries=0,
            network_backend=self._backend,
        )
        self._connections.add(connection)
        try:
            response = await connection.handle_async_request(core_request)
        except BaseException:
            # Also on cancellation (the probe's deadline): closing the transport is synchronous
            # up to its first await, and the socket count is released in a finally.
            await self._discard(connection)
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, lambda: self._discard(connection)),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        connections = list(self._connections)
        self._connections.clear()
        for connection in connections:
            await connection.aclose()


# --------------------------------------------------------------------------------------------
# Trust


def system_trust_context() -> ssl.SSLContext:
    """A verifying client context with the system's roots (certifi where the system has none).

    Hostname checking and CERT_REQUIRED stay on; the minimum is TLS 1.2.
    """
    context = ssl.create_default_context()
    paths = ssl.get_default_verify_paths()
    has_dir = False
    if paths.capath and os.path.isdir(paths.capath):
        with os.scandir(paths.capath) as entries:
            has_dir = any(entries)
    if not paths.cafile and not has_dir:
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(list(ALPN_OFFERED))
    return context


def _trust_key(ca_bundle: str | None) -> str:
    if ca_bundle is None:
        return "system"
    return "sha256:" + hashlib.sha256(ca_bundle.strip().encode()).hexdigest()


def _bundle_context(ca_bundle: str) -> ssl.SSLContext:
    context = system_trust_context()
    try:
        context.load_verify_locations(cadata=ca_bundle)
    except (ssl.SSLError, ValueError, UnicodeError) as exc:
        raise ValueError(str(exc)) from exc
    return context


# --------------------------------------------------------------------------------------------
# Prober


class Prober:
    """One shared HTTP/2 prober for all endpoints. Use ``async with Prober() as prober``.

    ``max_connections`` bounds the TCP connections open at once (and so the probes in flight);
    further probes wait for a slot, and the wait is not counted against their timeout.
    ``resolve`` takes ``HOST:PORT:ADDRESS`` strings (``--probe-resolve``) or rules.
    ``resolver`` replaces the system resolver (tests; a custom DNS client).
    """

    def __init__(
        self,
        *,
        max_connections: int = 20,
        resolve: Iterable[ResolveRule | str] = (),
        resolver: Resolver | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._resolve = resolve if isinstance(resolve, ResolveMap) else ResolveMap(resolve)
        self._backend = _Backend(self._resolve, resolver)
        self._transport = _Transport(self._backend)
        self._contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._client = httpx.AsyncClient(
            transport=self._transport,
            trust_env=False,  # probes go straight to the endpoint, never through a proxy
            follow_redirects=False,
            headers={"user-agent": user_agent, "accept": "*/*"},
        )
        self._max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        self._closed = False

    @property
    def max_connections(self) -> int:
        return self._max_connections

    @property
    def resolve(self) -> ResolveMap:
        return self._resolve

    @property
    def stats(self) -> ProberStats:
        sockets = self._backend.sockets
        return ProberStats(opened=sockets.opened, open=sockets.open, max_open=sockets.max_open)

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection. Probes after this raise RuntimeError."""
        if not self._closed:
            self._closed = True
            await self._client.aclose()

    async def probe_many(self, targets: Iterable[ProbeTarget]) -> list[ProbeResult]:
        """Probe all targets concurrently (still within ``max_connections`` sockets)."""
        return list(await asyncio.gather(*(self.probe(t) for t in targets)))

    async def probe(self, target: ProbeTarget) -> ProbeResult:
        """Probe one endpoint. Never raises for network, TLS or HTTP trouble: the result says."""
        if self._closed:
            raise RuntimeError("this Prober is closed")
        async with self._slots:
            return await self._probe(target)

    def _trust(self, ca_bundle: str | None) -> ssl.SSLContext:
        """The verifying context for ``ca_bundle``, cached (the last 64 bundles used)."""
        key = _trust_key(ca_bundle)
        context = self._contexts.get(key)
        if context is None:
            context = system_trust_context() if ca_bundle is None else _bundle_context(ca_bundle)
            self._contexts[key] = context
            while len(self._contexts) > _MAX_TRUST_CONTEXTS:
                self._contexts.popitem(last=False)
        self._contexts.move_to_end(key)
        return context

    async def _probe(self, target: ProbeTarget) -> ProbeResult:
        probed_at = datetime.now(UTC)
        try:
            ssl_context = self._trust(target.ca_bundle)
        except ValueError as exc:
            return ProbeResult(
                ready=False,
                reason=Reason.INVALID_CA_BUNDLE,
                message=(
                    f"The extra CA bundle (probe.caBundleRef / --cacert) holds no usable PEM "
                    f"certificate ({exc}); it must contain '-----BEGIN CERTIFICATE-----' blocks."
                ),
                probed_at=probed_at,
                host=target.host,
                port=target.port,
                path=target.path,
            )
        trace = _Trace()
        token = _TRACE.set(trace)
        started = time.monotonic()
        try:
            async with (
                asyncio.timeout(target.timeout),
                self._client.stream(
                    "GET",
                    target.url,
                    timeout=target.timeout,
                    extensions={_TRUST_EXTENSION: ssl_context},
                ) as response,
            ):
                latency_ms = round((time.monotonic() - started) * 1000)
                stream = response.extensions.get("network_stream")
                tls = _tls_info(stream) or trace.tls
                peer = _peer(stream) or trace.peer
                http_version = response.http_version
                status_code = response.status_code
                request_headers = tuple(response.request.headers.multi_items())
                response_headers = tuple(response.headers.multi_items())
        except Exception as exc:
            reason, message = classify_failure(
                exc,
                phase=trace.phase,
                host=target.host,
                port=target.port,
                timeout=target.timeout,
                peer=trace.peer,
            )
            log.debug("probe %s: %s", target.url, message, exc_info=exc)
            tls = trace.tls
            return ProbeResult(
                ready=False,
                reason=reason,
                message=message,
                alpn=tls.alpn if tls else None,
                tls_version=tls.version if tls else None,
                cipher=tls.cipher if tls else None,
                certificate=tls.certificate if tls else None,
                probed_at=probed_at,
                phase=trace.phase,
                resolved_addresses=trace.addresses,
                resolve_override=trace.override,
                peer_address=trace.peer,
                host=target.host,
                port=target.port,
                path=target.path,
            )
        finally:
            _TRACE.reset(token)

        alpn = tls.alpn if tls else None
        ready, reason, message = evaluate_response(
            endpoint=f"[{target.host}]:{target.port}"
            if ":" in target.host
            else f"{target.host}:{target.port}",
            path=target.path,
            alpn=alpn,
            http_version=http_version,
            status_code=status_code,
            expected_statuses=target.expected_statuses,
            latency_ms=latency_ms,
        )
        return ProbeResult(
            ready=ready,
            reason=reason,
            message=message,
            alpn=alpn,
            http_version=http_version,
            status_code=status_code,
            tls_version=tls.version if tls else None,
            cipher=tls.cipher if tls else None,
            certificate=tls.certificate if tls else None,
            latency_ms=latency_ms,
            probed_at=probed_at,
            phase=Phase.HTTP,
            resolved_addresses=trace.addresses,
            resolve_override=trace.override,
            peer_address=peer,
            request_headers=request_headers,
            response_headers=response_headers,
            host=target.host,
            port=target.port,
            path=target.path,
        )
