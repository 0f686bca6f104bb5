"""What a probe asks (:class:`ProbeTarget`) and what it found (:class:`ProbeResult`).

Pure: no sockets and no httpx. Also holds the two judgements the prober makes, so they can be
tested without a server:

- :func:`evaluate_response`: a response arrived; was it HTTP/2 with an acceptable status?
- :func:`classify_failure`: no response; which :class:`Reason`, and what should a person do?
"""

from __future__ import annotations

import enum
import errno
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ALPN_OFFERED",
    "CertificateInfo",
    "Phase",
    "ProbeResult",
    "ProbeTarget",
    "Reason",
    "classify_failure",
    "evaluate_response",
    "matching_san",
    "rfc3339",
]

#: What the probe offers in its TLS ClientHello, most preferred first (as curl and browsers do).
ALPN_OFFERED: tuple[str, ...] = ("h2", "http/1.1")


class Reason(enum.StrEnum):
    """Machine-readable outcome, CamelCase, used as the H2Ready condition's reason."""

    H2_NEGOTIATED = "H2Negotiated"
    H2_NOT_NEGOTIATED = "H2NotNegotiated"
    UNEXPECTED_STATUS = "UnexpectedStatus"
    DNS_FAILURE = "DnsFailure"
    CONNECTION_REFUSED = "ConnectionRefused"
    CONNECT_FAILED = "ConnectFailed"
    TIMEOUT = "Timeout"
    NOT_TLS = "NotTls"
    TLS_HANDSHAKE_FAILED = "TlsHandshakeFailed"
    TLS_VERIFICATION_FAILED = "TlsVerificationFailed"
    CERTIFICATE_EXPIRED = "CertificateExpired"
    CERTIFICATE_NOT_YET_VALID = "CertificateNotYetValid"
    HOSTNAME_MISMATCH = "HostnameMismatch"
    UNKNOWN_CA = "UnknownCA"
    INVALID_CA_BUNDLE = "InvalidCaBundle"
    PROTOCOL_ERROR = "ProtocolError"


class Phase(enum.StrEnum):
    """How far a probe got; decides what a timeout or a closed connection means."""

    QUEUED = "queued"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    HTTP = "http"


def rfc3339(moment: datetime) -> str:
    """``2025-01-31T12:00:00Z`` (UTC, whole seconds), as Kubernetes writes times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# Target


@dataclass(frozen=True)
class ProbeTarget:
    """One HTTPS endpoint to probe: ``GET https://host:port/path`` over TLS with ALPN h2.

    ``ca_bundle`` is PEM text (as read from the ``probe.caBundleRef`` ConfigMap) trusted in
    addition to the system's roots. ``expected_statuses`` empty means any HTTP status counts:
    HTTP/2 readiness is about the protocol, so a 403 over h2 is ready.
    """

    host: str
    port: int = 443
    path: str = "/"
    timeout: float = 5.0
    expected_statuses: frozenset[int] = field(default_factory=frozenset)
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        host = self.host.strip().lower().rstrip(".")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host:
            raise ValueError("probe target: empty host")
        if not 0 < self.port < 65536:
            raise ValueError(f"probe target: port {self.port} is out of range 1-65535")
        if not self.path.startswith("/"):
            raise ValueError(f"probe target: path {self.path!r} must start with '/'")
        if self.timeout <= 0:
            raise ValueError(f"probe target: timeout {self.timeout} must be positive")
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "expected_statuses", frozenset(self.expected_statuses))
        if self.ca_bundle is not None and not self.ca_bundle.strip():
            object.__setattr__(self, "ca_bundle", None)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout: float = 5.0,
        expected_statuses: Iterable[int] = (),
        ca_bundle: str | None = None,
    ) -> ProbeTarget:
        """Build a target from ``https://HOST[:PORT][/PATH][?QUERY]``; ValueError otherwise."""
        parts = urlsplit(url.strip())
        if parts.scheme.lower() != "https":
            raise ValueError(
                f"{url!r}: the probe checks HTTP/2 over TLS, so the URL must start with https://"
            )
        if not parts.hostname:
            raise ValueError(f"{url!r}: no host name in the URL")
        try:
            port = parts.port or 443
        except ValueError:
            raise ValueError(f"{url!r}: invalid port") from None
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        return cls(
            host=parts.hostname,
            port=port,
            path=path,
            timeout=timeout,
            expected_statuses=frozenset(expected_statuses),
            ca_bundle=ca_bundle,
        )

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.authority}{self.path}"


# --------------------------------------------------------------------------------------------
# Certificate


_SHORT_NAMES = {
    "commonName": "CN",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
    "emailAddress": "emailAddress",
    "serialNumber": "serialNumber",
}


def _escape_rdn_value(value: str) -> str:
    out = value.replace("\\", "\\\\")
    for char in ',+"<>;=':
        out = out.replace(char, "\\" + char)
    if out.startswith(("#", " ")):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def format_name(rdns: Sequence[Sequence[Sequence[str]]]) -> str:
    """RFC 4514 string (most specific RDN first, like Go and cert-manager) from getpeercert()."""
    parts = []
    for rdn in reversed(rdns):
        parts.append(
            "+".join(
                f"{_SHORT_NAMES.get(str(attr[0]), str(attr[0]))}={_escape_rdn_value(str(attr[1]))}"
                for attr in rdn
            )
        )
    return ",".join(parts)


def _cert_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), tz=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class CertificateInfo:
    """The verified peer certificate, as far as a person needs it."""

    subject: str
    issuer: str
    not_before: datetime | None
    not_after: datetime | None
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...] = ()

    @classmethod
    def from_peercert(cls, cert: Mapping[str, Any]) -> CertificateInfo:
        """From ``SSLObject.getpeercert()`` (the dict form, available after verification)."""
        sans = cert.get("subjectAltName", ())
        return cls(
            subject=format_name(cert.get("subject", ())),
            issuer=format_name(cert.get("issuer", ())),
            not_before=_cert_time(cert.get("notBefore")),
            not_after=_cert_time(cert.get("notAfter")),
            dns_names=tuple(str(v) for k, v in sans if k == "DNS"),
            ip_addresses=tuple(str(v).strip() for k, v in sans if k == "IP Address"),
        )

    def to_status(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "notAfter": rfc3339(self.not_after) if self.not_after else None,
            "dnsNames": list(self.dns_names),
        }


def _wildcard_match(host: str, pattern: str) -> bool:
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if not pattern.startswith("*."):
        return host == pattern
    # RFC 6125: the wildcard covers exactly one, whole, left-most label.
    head, _, rest = host.partition(".")
    return bool(head) and rest == pattern[2:]


def matching_san(host: str, certificate: CertificateInfo) -> str | None:
    """The SAN entry that covers ``host`` (for display; OpenSSL does the real check)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        for name in certificate.dns_names:
            if _wildcard_match(host, name):
                return name
        return None
    for text in certificate.ip_addresses:
        try:
            if ipaddress.ip_address(text) == address:
                return text
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe. :meth:`to_status` is what goes into ``status.h2``.

    The fields after ``probed_at`` are diagnostics for the ``probe`` command (what curl -v
    prints); they are not part of the status.
    """

    ready: bool
    reason: Reason
    message: str
    host: str
    port: int
    path: str = "/"
    alpn: str | None = None
    http_version: str | None = None
    status_code: int | None = None
    tls_version: str | None = None
    certificate: CertificateInfo | None = None
    latency_ms: int | None = None
    probed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # diagnostics
    phase: Phase = Phase.QUEUED
    cipher: str | None = None
    alpn_offered: tuple[str, ...] = ALPN_OFFERED
    resolved_addresses: tuple[str, ...] = ()
    resolve_override: bool = False
    peer_address: tuple[str, int] | None = None
    request_headers: tuple[tuple[str, str], ...] = ()
    response_headers: tuple[tuple[str, str], ...] = ()

    def to_status(self) -> dict[str, Any]:
        """``status.h2`` of a PrivateLinkEndpoint (camelCase keys, JSON-ready values)."""
        return {
            "ready": self.ready,
            "reason": str(self.reason),
            "alpn": self.alpn,
            "httpVersion": self.http_version,
            "statusCode": self.status_code,
            "tlsVersion": self.tls_version,
            "certificate": self.certificate.to_status() if self.certificate else None,
            "latencyMs": self.latency_ms,
            "lastProbeTime": rfc3339(self.probed_at),
            "message": self.message,
        }

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


# --------------------------------------------------------------------------------------------
# Judgements


def _statuses(expected: Iterable[int]) -> str:
    codes = sorted(expected)
    if len(codes) == 1:
        return str(codes[0])
    return ", ".join(str(c) for c in codes[:-1]) + f" or {codes[-1]}"


def evaluate_response(
    *,
    endpoint: str,
    path: str,
    alpn: str | None,
    http_version: str | None,
    status_code: int,
    expected_statuses: frozenset[int],
    alpn_offered: Sequence[str] = ALPN_OFFERED,
    latency_ms: int | None = None,
) -> tuple[bool, Reason, str]:
    """A response arrived: ready only if ALPN chose h2 *and* httpx spoke HTTP/2 (httpx falls back
    to HTTP/1.1 silently, so both are checked) and the status is acceptable."""
    offered = ", ".join(alpn_offered)
    if alpn != "h2" or http_version != "HTTP/2":
        if alpn is None:
            why = (
                f"the server at {endpoint} selected no ALPN protocol (offered: {offered}), so the "
                f"connection fell back to {http_version or 'HTTP/1.1'}"
            )
        elif alpn != "h2":
            why = f"the server at {endpoint} chose ALPN {alpn!r} although h2 was offered first"
        else:
            why = f"ALPN chose h2 but the response came over {http_version}"
        return (
            False,
            Reason.H2_NOT_NEGOTIATED,
            f"HTTP/2 was not negotiated: {why} (GET {path} answered {status_code}). "
            "On an NLB TLS listener set the ALPN policy to HTTP2Preferred or HTTP2Only "
            "(spec.listener.alpnPolicy); a server behind a TCP listener must offer h2 itself.",
        )
    took = f" in {latency_ms} ms" if latency_ms is not None else ""
    if expected_statuses and status_code not in expected_statuses:
        return (
            False,
            Reason.UNEXPECTED_STATUS,
            f"HTTP/2 works with {endpoint}, but GET {path} answered {status_code}; expected "
            f"{_statuses(expected_statuses)} (probe.expectedStatuses).",
        )
    return (
        True,
        Reason.H2_NEGOTIATED,
        f"HTTP/2 negotiated with {endpoint} (ALPN h2); GET {path} answered {status_code}{took}.",
    )


def iter_causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it was raised from or during, including exception-group members
    and exceptions carried as arguments."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        # httpcore wraps as ``ConnectError(original)`` and its pool re-raises ``from None``, so
        # the original exception survives only in ``args``.
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        if current.__cause__ is not None:
            stack.append(current.__cause__)
        if current.__context__ is not None and not current.__suppress_context__:
            stack.append(current.__context__)


def _first(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((e for e in iter_causes(exc) if isinstance(e, kind)), None)


# OpenSSL X509_V_ERR_* codes, see `man 3 X509_STORE_CTX_get_error`.
_VERIFY_REASONS: dict[int, Reason] = {
    2: Reason.UNKNOWN_CA,  # unable to get issuer certificate
    18: Reason.UNKNOWN_CA,  # self-signed certificate
    19: Reason.UNKNOWN_CA,  # self-signed certificate in certificate chain
    20: Reason.UNKNOWN_CA,  # unable to get local issuer certificate
    21: Reason.UNKNOWN_CA,  # unable to verify the first certificate
    9: Reason.CERTIFICATE_NOT_YET_VALID,
    10: Reason.CERTIFICATE_EXPIRED,
    62: Reason.HOSTNAME_MISMATCH,
    64: Reason.HOSTNAME_MISMATCH,  # IP address mismatch
}

_NOT_TLS_SSL_REASONS = {
    "WRONG_VERSION_NUMBER",
    "HTTP_REQUEST",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
    "UNKNOWN_PROTOCOL",
}


def _address(peer: tuple[str, int] | None, endpoint: str) -> str:
    if peer is None:
        return endpoint
    host = f"[{peer[0]}]" if ":" in peer[0] else peer[0]
    return f"{host}:{peer[1]}"


def classify_failure(
    exc: BaseException,
    *,
    phase: Phase,
    host: str,
    port: int,
    timeout: float,
    peer: tuple[str, int] | None = None,
) -> tuple[Reason, str]:
    """Map a probe failure (any exception chain from httpx/httpcore/anyio/ssl) and the phase it
    happened in to a reason and a message that says what is wrong and what to do."""
    endpoint = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    where = _address(peer, endpoint)
    via = f"{endpoint} (connecting to {where})" if where != endpoint else endpoint

    if _first(exc, TimeoutError) is not None:
        if phase in (Phase.QUEUED, Phase.DNS):
            detail = f"resolving {host} did not finish"
        elif phase is Phase.CONNECT:
            detail = (
                f"the TCP connection to {where} was not established (packets dropped? check "
                "security groups, network ACLs and routes for this port)"
            )
        elif phase is Phase.TLS:
            detail = (
                f"the TLS handshake with {where} did not complete: the server accepted the TCP "
                "connection but never answered the ClientHello (is this port serving TLS?)"
            )
        else:
            detail = f"{via} sent no HTTP response after the TLS handshake"
        return Reason.TIMEOUT, f"Timed out after {timeout:g}s: {detail}."

    verify = _first(exc, ssl.SSLCertVerificationError)
    if isinstance(verify, ssl.SSLCertVerificationError):
        code = int(getattr(verify, "verify_code", 0) or 0)
        text = str(getattr(verify, "verify_message", "") or verify.reason or verify)
        reason = _VERIFY_REASONS.get(code, Reason.TLS_VERIFICATION_FAILED)
        advice = {
            Reason.UNKNOWN_CA: (
                "The certificate is not signed by a CA the probe trusts; for a private CA put the "
                "CA certificate (PEM) in a ConfigMap and reference it in probe.caBundleRef "
                "(CLI: --cacert)."
            ),
            Reason.CERTIFICATE_EXPIRED: "Renew or replace the certificate on the listener.",
            Reason.CERTIFICATE_NOT_YET_VALID: (
                "Check the clocks, or wait for the certificate's start date."
            ),
            Reason.HOSTNAME_MISMATCH: (
                f"The certificate must list {host} (or a matching wildcard) among its subject "
                "alternative names."
            ),
        }.get(reason, "The certificate chain could not be verified.")
        return reason, f"TLS verification of {via} failed: {text.rstrip('.')}. {advice}"

    ssl_error = _first(exc, ssl.SSLError)
    if isinstance(ssl_error, ssl.SSLError) and not isinstance(ssl_error, ssl.SSLEOFError):
        ssl_reason = str(ssl_error.reason or "")
        if ssl_reason in _NOT_TLS_SSL_REASONS:
            return Reason.NOT_TLS, (
                f"{via} does not speak TLS: the reply to the TLS ClientHello was not a TLS record "
                f"({ssl_reason}); this port serves plain TCP or HTTP. Use a TLS listener."
            )
        if ssl_reason == "TLSV1_ALERT_NO_APPLICATION_PROTOCOL":
            return Reason.H2_NOT_NEGOTIATED, (
                f"HTTP/2 was not negotiated: {via} refused every offered ALPN protocol "
                f"({', '.join(ALPN_OFFERED)})."
            )
        return Reason.TLS_HANDSHAKE_FAILED, (
            f"TLS handshake with {via} failed: {ssl_reason or ssl_error}; check the listener's "
            "SSL policy (TLS 1.2 or newer with common ciphers)."
        )

    gai = _first(exc, socket.gaierror)
    if isinstance(gai, socket.gaierror):
        hint = (
            f"check that private DNS is enabled on the endpoint and that this resolver sees the "
            f"VPC's private hosted zone, or map the name with --probe-resolve {host}:{port}:ADDRESS"
        )
        return Reason.DNS_FAILURE, f"Could not resolve {host}: {gai.strerror or gai}; {hint}."

    if _first(exc, ConnectionRefusedError) is not None:
        return Reason.CONNECTION_REFUSED, (
            f"Connection to {via} was refused: nothing is listening on that port (check the "
            "listener port, the target and, for --probe-resolve, the address)."
        )

    if phase in (Phase.QUEUED, Phase.DNS, Phase.CONNECT):
        oserror = _first(exc, OSError)
        detail = (
            (
                oserror.strerror or errno.errorcode.get(oserror.errno or 0, "")
                if isinstance(oserror, OSError)
                else ""
            )
            or str(exc)
            or type(exc).__name__
        )
        return Reason.CONNECT_FAILED, (
            f"Could not connect to {via}: {detail} (check routes, security groups and that "
            "the endpoint is available)."
        )

    if phase is Phase.TLS:
        return Reason.TLS_HANDSHAKE_FAILED, (
            f"TLS handshake with {via} failed: the server closed the connection during the "
            "handshake (is this port serving TLS? does the listener accept TLS 1.2+ and SNI "
            f"{host}?)."
        )

    detail = str(exc) or type(exc).__name__
    return Reason.PROTOCOL_ERROR, (
        f"The TLS connection to {via} was established but the HTTP exchange failed: {detail}."
    )
