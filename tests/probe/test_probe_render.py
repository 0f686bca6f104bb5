"""The curl-like rendering of a probe result (pure, no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

from privatelink_operator.probe import CertificateInfo, Phase, ProbeResult, Reason, render_verbose

CERT = CertificateInfo(
    subject="CN=vpce.example.com",
    issuer="CN=Amazon RSA 2048 M02,O=Amazon,C=US",
    not_before=datetime(2025, 1, 1, tzinfo=UTC),
    not_after=datetime(2026, 2, 1, 12, 30, tzinfo=UTC),
    dns_names=("vpce.example.com",),
)


def ready_result() -> ProbeResult:
    return ProbeResult(
        ready=True,
        reason=Reason.H2_NEGOTIATED,
        message="HTTP/2 negotiated with vpce.example.com:443 (ALPN h2); GET / answered 403.",
        host="vpce.example.com",
        port=443,
        alpn="h2",
        http_version="HTTP/2",
        status_code=403,
        tls_version="TLSv1.3",
        cipher="TLS_AES_128_GCM_SHA256",
        certificate=CERT,
        latency_ms=12,
        phase=Phase.HTTP,
        resolved_addresses=("10.0.2.7", "10.0.1.5"),
        peer_address=("10.0.2.7", 443),
        request_headers=(("host", "vpce.example.com"), ("connection", "keep-alive")),
        response_headers=(("server", "nginx"),),
    )


def test_a_ready_result_reads_like_curl_http2_verbose() -> None:
    assert render_verbose(ready_result()).splitlines() == [
        "* Host vpce.example.com:443 was resolved.",
        "* IPv6: (none)",
        "* IPv4: 10.0.2.7, 10.0.1.5",
        "*   Trying 10.0.2.7:443...",
        "* Connected to vpce.example.com (10.0.2.7) port 443",
        "* ALPN: offers h2,http/1.1",
        "* SSL connection using TLSv1.3 / TLS_AES_128_GCM_SHA256",
        "* ALPN: server accepted h2",
        "* Server certificate:",
        "*  subject: CN=vpce.example.com",
        "*  start date: Jan  1 00:00:00 2025 GMT",
        "*  expire date: Feb  1 12:30:00 2026 GMT",
        '*  subjectAltName: host "vpce.example.com" matched cert\'s "vpce.example.com"',
        "*  issuer: CN=Amazon RSA 2048 M02,O=Amazon,C=US",
        "*  SSL certificate verify ok.",
        "* using HTTP/2",
        "> GET / HTTP/2",
        "> host: vpce.example.com",
        ">",
        "< HTTP/2 403",
        "< server: nginx",
        "<",
        "* READY (H2Negotiated, 12 ms): HTTP/2 negotiated with vpce.example.com:443 (ALPN h2); "
        "GET / answered 403.",
    ]


def test_a_refused_connection_stops_after_trying() -> None:
    result = ProbeResult(
        ready=False,
        reason=Reason.CONNECTION_REFUSED,
        message="Connection to vpce.example.com:443 was refused.",
        host="vpce.example.com",
        port=443,
        phase=Phase.CONNECT,
        resolved_addresses=("127.0.0.1",),
        resolve_override=True,
        peer_address=("127.0.0.1", 443),
    )
    assert render_verbose(result).splitlines() == [
        "* Added vpce.example.com:443:127.0.0.1 (--resolve)",
        "*   Trying 127.0.0.1:443...",
        "* NOT READY (ConnectionRefused): Connection to vpce.example.com:443 was refused.",
    ]


def test_no_alpn_is_shown_as_curl_does() -> None:
    result = ProbeResult(
        ready=False,
        reason=Reason.H2_NOT_NEGOTIATED,
        message="HTTP/2 was not negotiated.",
        host="vpce.example.com",
        port=443,
        tls_version="TLSv1.2",
        http_version="HTTP/1.1",
        status_code=200,
        phase=Phase.HTTP,
        peer_address=("::1", 443),
    )
    out = render_verbose(result)
    assert "*   Trying [::1]:443..." in out
    assert "* ALPN: server did not agree on a protocol. Uses default." in out
    assert "> GET / HTTP/1.1" in out and "< HTTP/1.1 200" in out


def test_a_certificate_not_covering_the_host_is_called_out() -> None:
    result = ready_result()
    other = CertificateInfo("CN=x", "CN=ca", None, None, ("other.example.com",))
    out = render_verbose(ProbeResult(**{**result.__dict__, "certificate": other}))
    assert 'subjectAltName does not match host "vpce.example.com"' in out
    assert "start date: (unknown)" in out
