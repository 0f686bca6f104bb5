"""The HTTP/2 readiness probe: prove the data path speaks HTTP/2 over verified TLS.

So far: the pure parts - targets, results (``status.h2``), reasons, failure classification and
``HOST:PORT:ADDRESS`` overrides like ``curl --resolve``.
"""

from __future__ import annotations

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

__all__ = [
    "ALPN_OFFERED",
    "CertificateInfo",
    "Phase",
    "ProbeResult",
    "ProbeTarget",
    "Reason",
    "ResolveMap",
    "ResolveRule",
    "classify_failure",
    "evaluate_response",
    "parse_resolve",
]
