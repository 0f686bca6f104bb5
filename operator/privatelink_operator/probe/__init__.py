"""The HTTP/2 readiness probe: prove the data path speaks HTTP/2 over verified TLS.

``Prober`` is the one shared object the operator uses; ``probe(target)`` returns a
``ProbeResult`` whose ``to_status()`` is ``status.h2``. ``ProbeScheduler`` probes many
endpoints periodically with jitter and exponential backoff.
"""

from __future__ import annotations

from .prober import USER_AGENT, Prober, ProberStats, Resolver, system_trust_context
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
    "evaluate_response",
    "initial_probe_delay",
    "next_probe_delay",
    "parse_resolve",
    "system_trust_context",
]
