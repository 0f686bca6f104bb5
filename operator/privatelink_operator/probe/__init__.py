"""The HTTP/2 readiness probe: prove the data path speaks HTTP/2 over verified TLS.

Public API::

    async with Prober(max_connections=20, resolve=["vpce.example.com:443:10.0.1.5"]) as prober:
        result = await prober.probe(ProbeTarget("vpce.example.com", ca_bundle=pem_or_none))
    status["h2"] = result.to_status()          # camelCase status.h2, reason for H2Ready

- :class:`ProbeTarget`: host, port, path, timeout, expected statuses, extra CA bundle (PEM).
- :class:`Prober`: one shared object; fresh TCP+TLS connection per probe, at most
  ``max_connections`` sockets at once, SSL contexts cached per CA bundle, ``aclose()`` on
  shutdown. ``probe()`` never raises for network, TLS or HTTP trouble.
- :class:`ProbeResult` / :class:`Reason`: ready only when ALPN selected ``h2`` *and* the response
  came over ``HTTP/2`` (httpx falls back to HTTP/1.1 silently) *and* the status is acceptable.
  Failure reasons: DnsFailure, ConnectionRefused, ConnectFailed, Timeout, NotTls,
  TlsHandshakeFailed, TlsVerificationFailed, CertificateExpired, CertificateNotYetValid,
  HostnameMismatch, UnknownCA, InvalidCaBundle, H2NotNegotiated, UnexpectedStatus,
  ProtocolError.
- :class:`ProbeScheduler`, :func:`next_probe_delay`: periodic probing with jitter and
  exponential backoff.
- :func:`parse_resolve` / :class:`ResolveMap`: ``HOST:PORT:ADDRESS`` like ``curl --resolve``.
- :func:`render_verbose`: ``curl --http2 -v``-like text; :func:`cli_main`: the ``probe`` command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .render import render_json, render_verbose
from .resolve import ResolveMap, ResolveRule, parse_resolve
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
from .schedule import ProbeScheduler, SupportsProbe, initial_probe_delay, next_probe_delay

if TYPE_CHECKING:
    from .cli import cli_main
    from .prober import USER_AGENT, Prober, ProberStats, Resolver, system_trust_context

# httpx/httpcore are imported on first use of these names only, so pure modules (status.py,
# the planner) can use ProbeResult, Reason and the delay functions without importing httpx.
_LAZY = {
    "cli_main": ".cli",
    "USER_AGENT": ".prober",
    "Prober": ".prober",
    "ProberStats": ".prober",
    "Resolver": ".prober",
    "system_trust_context": ".prober",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "ALPN_OFFERED",
    "USER_AGENT",
    "CertificateInfo",
    "Phase",
    "ProbeResult",
    "ProbeScheduler",
    "ProbeTarget",
    "Prober",
    "ProberStats",
    "Reason",
    "ResolveMap",
    "ResolveRule",
    "Resolver",
    "SupportsProbe",
    "classify_failure",
    "cli_main",
    "evaluate_response",
    "initial_probe_delay",
    "next_probe_delay",
    "parse_resolve",
    "render_json",
    "render_verbose",
    "system_trust_context",
]
