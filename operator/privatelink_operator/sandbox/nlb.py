"""A local stand-in for the data path of the provider's Network Load Balancer.

On AWS, a consumer's connection to the endpoint reaches the NLB's TLS listener, which offers
the ALPN protocols of its ALPN policy, terminates TLS with the listener's ACM certificate and
opens a TLS connection to one of the target group's registered targets. The stand-in does the
same on loopback, from what the operator configured in the AWS emulator:

- the listener (``DescribeListeners``): ALPN policy, SSL policy, certificate ARN and the target
  group of its default action, re-read every ``poll_interval`` seconds, so a changed
  ``alpnPolicy`` shows on the next connection;
- the targets (``DescribeTargetHealth``): healthy ones, or all of them when none is healthy
  (an NLB fails open), chosen round robin;
- the certificate: the stand-in holds the private keys of the certificates the sandbox imported
  into ACM (``certificates``: ARN -> chain and key); a listener whose certificate it holds no
  key for gets no TLS handshake (the connection is closed), as nothing could serve it.

Towards the target it opens TLS offering only the protocol the client negotiated (``h2`` ->
``h2``; ``http/1.1`` -> ``http/1.1``; none -> no ALPN) and, like an NLB, does not verify the
target's certificate. Then it copies bytes both ways until either side closes.

The ALPN lists are AWS's (the order is the server's preference, which decides the protocol):
:data:`ALPN_BY_POLICY` and :func:`alpn_protocols`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..testing.tlsserver import PemCert, server_context

__all__ = [
    "ALPN_BY_POLICY",
    "ListenerSource",
    "ListenerState",
    "NlbStandIn",
    "StandInStats",
    "Target",
    "alpn_protocols",
    "elbv2_listener_source",
    "minimum_tls_version",
]

log = logging.getLogger(__name__)

#: What an NLB TLS listener offers in ALPN for each ALPN policy, in its order of preference.
#: ``None`` (the policy named "None", also AWS's default) offers no ALPN at all.
ALPN_BY_POLICY: Mapping[str, tuple[str, ...] | None] = {
    "HTTP1Only": ("http/1.1", "http/1.0"),
    "HTTP2Only": ("h2",),
    "HTTP2Optional": ("http/1.1", "http/1.0", "h2"),
    "HTTP2Preferred": ("h2", "http/1.1", "http/1.0"),
    "None": None,
}


def alpn_protocols(policy: str | None) -> tuple[str, ...] | None:
    """The ALPN protocols a listener with ``policy`` offers; ``None``/missing: no ALPN."""
    if policy is None or policy == "":
        return None
    try:
        return ALPN_BY_POLICY[policy]
    except KeyError:
        known = ", ".join(ALPN_BY_POLICY)
        raise ValueError(f"unknown ALPN policy {policy!r}; AWS knows {known}") from None


def minimum_tls_version(ssl_policy: str | None) -> ssl.TLSVersion:
    """The lowest TLS version an ELB security policy accepts (TLS 1.2 unless it says 1.3)."""
    if ssl_policy and "-1-3-" in ssl_policy:
        return ssl.TLSVersion.TLSv1_3
    return ssl.TLSVersion.TLSv1_2


@dataclass(frozen=True, order=True)
class Target:
    address: str
    port: int

    def __str__(self) -> str:
        return (
            f"[{self.address}]:{self.port}"
            if ":" in self.address
            else f"{self.address}:{self.port}"
        )


@dataclass(frozen=True)
class ListenerState:
    """What the stand-in needs to know about the listener, as AWS describes it."""

    alpn_policy: str = "None"
    ssl_policy: str | None = None
    certificate_arn: str | None = None
    targets: tuple[Target, ...] = ()
    port: int = 443

    @property
    def offered(self) -> tuple[str, ...] | None:
        return alpn_protocols(self.alpn_policy)


#: Called from a worker thread; returns the current listener, or None while there is none yet.
ListenerSource = Callable[[], ListenerState | None]


def elbv2_listener_source(elbv2: Any, listener_arn: Callable[[], str | None]) -> ListenerSource:
    """Read the listener ``listener_arn()`` and its target group's targets with boto3."""

    def read() -> ListenerState | None:
        arn = listener_arn()
        if not arn:
            return None
        listeners = elbv2.describe_listeners(ListenerArns=[arn]).get("Listeners") or []
        if not listeners:
            return None
        listener = listeners[0]
        policies = listener.get("AlpnPolicy") or []
        certificates = listener.get("Certificates") or []
        group_arn = next(
            (
                action.get("TargetGroupArn")
                for action in listener.get("DefaultActions") or []
                if action.get("TargetGroupArn")
            ),
            None,
        )
        targets: tuple[Target, ...] = ()
        if group_arn:
            described = elbv2.describe_target_health(TargetGroupArn=group_arn)
            entries = described.get("TargetHealthDescriptions") or []
            registered = [
                (
                    Target(str(e["Target"]["Id"]), int(e["Target"].get("Port") or 0)),
                    (e.get("TargetHealth") or {}).get("State"),
                )
                for e in entries
            ]
            healthy = [t for t, state in registered if state == "healthy"]
            targets = tuple(sorted(healthy or [t for t, _ in registered]))
        return ListenerState(
            alpn_policy=str(policies[0]) if policies else "None",
            ssl_policy=listener.get("SslPolicy"),
            certificate_arn=certificates[0].get("CertificateArn") if certificates else None,
            targets=targets,
            port=int(listener.get("Port") or 443),
        )

    return read


@dataclass
class StandInStats:
    accepted: int = 0
    forwarded: int = 0
    refused: int = 0
    negotiated: list[str | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


_Key = tuple[str | None, str | None, tuple[str, ...] | None]


class NlbStandIn:
    """``await NlbStandIn(source, certificates).start()``; ``port``; ``await aclose()``."""

    def __init__(
        self,
        source: ListenerSource,
        certificates: Mapping[str, PemCert],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        poll_interval: float = 1.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._source = source
        self._certificates = dict(certificates)
        self.host = host
        self.port = port
        self.poll_interval = poll_interval
        self.connect_timeout = connect_timeout
        self.state: ListenerState | None = None
        self.stats = StandInStats()
        self._contexts: dict[_Key, ssl.SSLContext] = {}
        self._round_robin = itertools.count()
        self._server: asyncio.Server | None = None
        self._poller: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.changed_at = 0.0  # time.monotonic() when the listener last changed

    # lifecycle -----------------------------------------------------------------------------

    async def start(self) -> NlbStandIn:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._poller = asyncio.create_task(self._poll())
        return self

    async def aclose(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
            self._poller = None
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

    async def __aenter__(self) -> NlbStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # the listener ---------------------------------------------------------------------------

    async def refresh(self) -> ListenerState | None:
        """Read the listener now (the poller does this every ``poll_interval`` seconds)."""
        state = await asyncio.to_thread(self._source)
        if state != self.state:
            self.state = state
            self.changed_at = time.monotonic()
        return state

    async def _poll(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the emulator restarting, a throttled call: try again
                log.debug("reading the listener failed: %s", exc)
            await asyncio.sleep(self.poll_interval)

    def _server_context(self, state: ListenerState) -> ssl.SSLContext | None:
        if state.certificate_arn is None or state.certificate_arn not in self._certificates:
            return None
        key: _Key = (state.certificate_arn, state.ssl_policy, state.offered)
        context = self._contexts.get(key)
        if context is None:
            context = server_context(self._certificates[state.certificate_arn], state.offered)
            context.minimum_version = minimum_tls_version(state.ssl_policy)
            self._contexts[key] = context
        return context

    # connections ----------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.stats.accepted += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            state = self.state
            context = self._server_context(state) if state is not None else None
            if state is None or context is None or not state.targets:
                self.stats.refused += 1
                self.stats.problems.append(self._why_refused(state))
                return
            try:
                await writer.start_tls(context, ssl_handshake_timeout=10)
            except (OSError, ssl.SSLError, ConnectionError, TimeoutError):
                return
            ssl_object = writer.get_extra_info("ssl_object")
            alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
            self.stats.negotiated.append(alpn)
            target = state.targets[next(self._round_robin) % len(state.targets)]
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(
                    target.address, target.port, ssl=_target_context(alpn), server_hostname=""
                ),
                self.connect_timeout,
            )
            upstream = upstream_writer
            self.stats.forwarded += 1
            await _pipe_both(reader, writer, upstream_reader, upstream_writer)
        except (OSError, ssl.SSLError, ConnectionError, TimeoutError) as exc:
            self.stats.problems.append(f"forwarding failed: {exc}")
        except asyncio.CancelledError:
            pass
        finally:
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(stream.wait_closed(), 1)
            if task is not None:
                self._tasks.discard(task)

    def _why_refused(self, state: ListenerState | None) -> str:
        if state is None:
            return "no listener yet"
        if state.certificate_arn not in self._certificates:
            return f"no key for the listener's certificate {state.certificate_arn}"
        return "no registered targets"


def _target_context(alpn: str | None) -> ssl.SSLContext:
    """TLS towards a target: the client's protocol only, and (like an NLB) no verification."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if alpn is not None:
        context.set_alpn_protocols([alpn])
    return context


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        data = await reader.read(65536)
        if not data:
            return
        writer.write(data)
        await writer.drain()


async def _pipe_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    target_reader: asyncio.StreamReader,
    target_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until one side closes (TLS has no half-close), then stop the other."""
    tasks = {
        asyncio.create_task(_copy(client_reader, target_writer)),
        asyncio.create_task(_copy(target_reader, client_writer)),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
