"""Render a :class:`ProbeResult` the way ``curl --http2 -v`` shows a connection (pure)."""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime

from .result import Phase, ProbeResult, matching_san

__all__ = ["render_json", "render_verbose"]

_ORDER = [Phase.QUEUED, Phase.DNS, Phase.CONNECT, Phase.TLS, Phase.HTTP]


def _reached(result: ProbeResult, phase: Phase) -> bool:
    return _ORDER.index(result.phase) >= _ORDER.index(phase)


def _curl_date(moment: datetime | None) -> str:
    return moment.strftime("%b %e %H:%M:%S %Y GMT") if moment else "(unknown)"


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _family(address: str) -> int | None:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return None


def render_verbose(result: ProbeResult) -> str:
    """What a person needs to see: resolution, connect, TLS, ALPN, certificate, the HTTP/2
    status line and headers, and a verdict line with the reason and what to do."""
    lines: list[str] = []
    host, port = result.host, result.port
    addresses = result.resolved_addresses
    if result.resolve_override:
        lines.append(f"* Added {host}:{port}:{','.join(map(_bracket, addresses))} (--resolve)")
    elif addresses:
        lines.append(f"* Host {host}:{port} was resolved.")
        v6 = [a for a in addresses if _family(a) == 6]
        v4 = [a for a in addresses if _family(a) == 4]
        lines.append(f"* IPv6: {', '.join(v6) if v6 else '(none)'}")
        lines.append(f"* IPv4: {', '.join(v4) if v4 else '(none)'}")
    if result.peer_address is not None:
        address, peer_port = result.peer_address
        lines.append(f"*   Trying {_bracket(address)}:{peer_port}...")
        if _reached(result, Phase.TLS):
            lines.append(f"* Connected to {host} ({address}) port {peer_port}")
    if _reached(result, Phase.TLS):
        lines.append(f"* ALPN: offers {','.join(result.alpn_offered)}")
    if result.tls_version:
        cipher = f" / {result.cipher}" if result.cipher else ""
        lines.append(f"* SSL connection using {result.tls_version}{cipher}")
        if result.alpn:
            lines.append(f"* ALPN: server accepted {result.alpn}")
        else:
            lines.append("* ALPN: server did not agree on a protocol. Uses default.")
    cert = result.certificate
    if cert is not None:
        lines.append("* Server certificate:")
        lines.append(f"*  subject: {cert.subject}")
        lines.append(f"*  start date: {_curl_date(cert.not_before)}")
        lines.append(f"*  expire date: {_curl_date(cert.not_after)}")
        san = matching_san(host, cert)
        if san is not None:
            lines.append(f'*  subjectAltName: host "{host}" matched cert\'s "{san}"')
        else:
            names = ", ".join(cert.dns_names + cert.ip_addresses) or "(none)"
            lines.append(f'*  subjectAltName does not match host "{host}" (cert has: {names})')
        lines.append(f"*  issuer: {cert.issuer}")
        lines.append("*  SSL certificate verify ok.")
    if result.http_version:
        h2 = result.http_version == "HTTP/2"
        lines.append(f"* using {result.http_version}")
        lines.append(f"> GET {result.path} {result.http_version}")
        for name, value in result.request_headers:
            if h2 and name.lower() == "connection":
                continue  # not sent over HTTP/2
            lines.append(f"> {name}: {value}")
        lines.append(">")
        lines.append(f"< {result.http_version} {result.status_code}")
        for name, value in result.response_headers:
            lines.append(f"< {name}: {value}")
        lines.append("<")
    latency = f", {result.latency_ms} ms" if result.latency_ms is not None else ""
    verdict = "READY" if result.ready else "NOT READY"
    lines.append(f"* {verdict} ({result.reason}{latency}): {result.message}")
    return "\n".join(lines) + "\n"


def render_json(result: ProbeResult) -> str:
    """``status.h2`` as indented JSON."""
    return json.dumps(result.to_status(), indent=2) + "\n"
