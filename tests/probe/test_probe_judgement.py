"""Pure probe logic: failure classification, the HTTP/2 verdict, status shape, targets.

No sockets: exceptions are built the way httpcore/anyio/ssl raise them.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import ssl
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from privatelink_operator.probe import (
    CertificateInfo,
    Phase,
    ProbeResult,
    ProbeTarget,
    Reason,
    classify_failure,
    evaluate_response,
)
from privatelink_operator.probe.result import format_name, matching_san


class WrappedError(Exception):
    """Like httpcore.ConnectError(original), re-raised ``from None`` by httpcore's pool."""


def wrapped(original: BaseException) -> WrappedError:
    exc = WrappedError(original)
    exc.__cause__ = None
    exc.__suppress_context__ = True
    return exc


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"certificate verify failed: {message}")
    exc.verify_code = code
    exc.verify_message = message
    return exc


def ssl_error(reason: str) -> ssl.SSLError:
    exc = ssl.SSLError(1, reason.lower().replace("_", " "))
    exc.reason = reason
    return exc


def classify(exc: BaseException, phase: Phase = Phase.TLS) -> tuple[Reason, str]:
    return classify_failure(
        exc, phase=phase, host="vpce.example.com", port=443, timeout=5, peer=("10.0.1.5", 443)
    )


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        (10, "certificate has expired", Reason.CERTIFICATE_EXPIRED),
        (9, "certificate is not yet valid", Reason.CERTIFICATE_NOT_YET_VALID),
        (62, "Hostname mismatch, certificate is not valid for 'x'.", Reason.HOSTNAME_MISMATCH),
        (20, "unable to get local issuer certificate", Reason.UNKNOWN_CA),
        (19, "self-signed certificate in certificate chain", Reason.UNKNOWN_CA),
        (18, "self-signed certificate", Reason.UNKNOWN_CA),
        (23, "certificate revoked", Reason.TLS_VERIFICATION_FAILED),
    ],
)
def test_certificate_verification_failures_get_their_own_reason(
    code: int, message: str, reason: Reason
) -> None:
    got, text = classify(wrapped(verify_error(code, message)))
    assert got is reason
    assert message.rstrip(".") in text
    assert "vpce.example.com:443 (connecting to 10.0.1.5:443)" in text


def test_unknown_ca_message_says_how_to_add_a_private_ca() -> None:
    _, text = classify(wrapped(verify_error(20, "unable to get local issuer certificate")))
    assert "probe.caBundleRef" in text and "--cacert" in text


@pytest.mark.parametrize(
    "ssl_reason", ["WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE"]
)
def test_a_non_tls_reply_to_the_client_hello_is_not_tls(ssl_reason: str) -> None:
    reason, text = classify(wrapped(ssl_error(ssl_reason)))
    assert reason is Reason.NOT_TLS
    assert "does not speak TLS" in text


def test_other_handshake_alerts_are_handshake_failures() -> None:
    reason, text = classify(wrapped(ssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE")))
    assert reason is Reason.TLS_HANDSHAKE_FAILED
    assert "SSL policy" in text


def test_server_refusing_every_alpn_protocol_means_h2_not_negotiated() -> None:
    reason, _ = classify(wrapped(ssl_error("TLSV1_ALERT_NO_APPLICATION_PROTOCOL")))
    assert reason is Reason.H2_NOT_NEGOTIATED


def test_connection_closed_during_handshake_is_a_handshake_failure() -> None:
    reason, text = classify(wrapped(Exception()), Phase.TLS)
    assert reason is Reason.TLS_HANDSHAKE_FAILED
    assert "closed the connection during the handshake" in text


def test_name_resolution_failure_is_dns_failure_with_a_hint() -> None:
    gai = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    reason, text = classify(wrapped(gai), Phase.DNS)
    assert reason is Reason.DNS_FAILURE
    assert "Name or service not known" in text and "--probe-resolve" in text


def test_refused_connection_is_found_inside_anyio_all_attempts_failed() -> None:
    try:
        try:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        except ConnectionRefusedError as cause:
            raise OSError("All connection attempts failed") from cause
    except OSError as exc:
        reason, text = classify(wrapped(exc), Phase.CONNECT)
    assert reason is Reason.CONNECTION_REFUSED
    assert "nothing is listening" in text


def test_refused_connection_inside_an_exception_group() -> None:
    group = ExceptionGroup("attempts", [ConnectionRefusedError(errno.ECONNREFUSED, "refused")])
    assert classify(wrapped(group), Phase.CONNECT)[0] is Reason.CONNECTION_REFUSED


def test_unreachable_network_is_connect_failed() -> None:
    unreachable = OSError(errno.EHOSTUNREACH, "No route to host")
    reason, text = classify(wrapped(unreachable), Phase.CONNECT)
    assert reason is Reason.CONNECT_FAILED
    assert "No route to host" in text


@pytest.mark.parametrize(
    ("phase", "says"),
    [
        (Phase.DNS, "resolving vpce.example.com did not finish"),
        (Phase.CONNECT, "TCP connection to 10.0.1.5:443 was not established"),
        (Phase.TLS, "never answered the ClientHello"),
        (Phase.HTTP, "sent no HTTP response"),
    ],
)
def test_a_timeout_says_which_step_did_not_finish(phase: Phase, says: str) -> None:
    reason, text = classify(wrapped(TimeoutError()), phase)
    assert reason is Reason.TIMEOUT
    assert text.startswith("Timed out after 5s")
    assert says in text


def test_failure_after_the_handshake_is_a_protocol_error() -> None:
    reason, text = classify(wrapped(Exception("Server disconnected")), Phase.HTTP)
    assert reason is Reason.PROTOCOL_ERROR
    assert "Server disconnected" in text


def verdict(
    alpn: str | None, http_version: str, status: int = 200, expected: frozenset[int] = frozenset()
) -> tuple[bool, Reason, str]:
    return evaluate_response(
        endpoint="vpce.example.com:443",
        path="/healthz",
        alpn=alpn,
        http_version=http_version,
        status_code=status,
        expected_statuses=expected,
        latency_ms=12,
    )


def test_h2_alpn_and_http2_response_is_ready() -> None:
    ready, reason, text = verdict("h2", "HTTP/2")
    assert ready and reason is Reason.H2_NEGOTIATED
    assert "GET /healthz answered 200 in 12 ms" in text


def test_any_status_counts_when_no_statuses_are_expected() -> None:
    assert verdict("h2", "HTTP/2", 403)[0]
    assert verdict("h2", "HTTP/2", 503)[0]


def test_unexpected_status_is_not_ready_and_names_the_expected_ones() -> None:
    ready, reason, text = verdict("h2", "HTTP/2", 503, frozenset({204, 200}))
    assert not ready and reason is Reason.UNEXPECTED_STATUS
    assert "answered 503; expected 200 or 204" in text
    assert verdict("h2", "HTTP/2", 204, frozenset({204, 200}))[0]


def test_http11_alpn_is_not_ready_and_says_h2_was_not_negotiated() -> None:
    ready, reason, text = verdict("http/1.1", "HTTP/1.1")
    assert not ready and reason is Reason.H2_NOT_NEGOTIATED
    assert text.startswith("HTTP/2 was not negotiated")
    assert "'http/1.1'" in text and "HTTP2Preferred" in text


def test_no_alpn_at_all_is_not_ready() -> None:
    ready, reason, text = verdict(None, "HTTP/1.1")
    assert not ready and reason is Reason.H2_NOT_NEGOTIATED
    assert "selected no ALPN protocol" in text


def test_h2_alpn_with_a_http11_response_is_not_ready_both_are_checked() -> None:
    ready, reason, _ = verdict("h2", "HTTP/1.1")
    assert not ready and reason is Reason.H2_NOT_NEGOTIATED


PEERCERT = {
    "subject": ((("organizationName", "Example, Inc."),), (("commonName", "vpce.example.com"),)),
    "issuer": (
        (("countryName", "US"),),
        (("organizationName", "Amazon"),),
        (("commonName", "Amazon RSA 2048 M02"),),
    ),
    "notBefore": "Jan  1 00:00:00 2025 GMT",
    "notAfter": "Feb  1 12:30:00 2026 GMT",
    "subjectAltName": (("DNS", "vpce.example.com"), ("DNS", "*.vpce.example.com")),
}


def test_certificate_details_come_from_the_verified_peer_certificate() -> None:
    cert = CertificateInfo.from_peercert(PEERCERT)
    assert cert.to_status() == {
        "subject": "CN=vpce.example.com,O=Example\\, Inc.",
        "issuer": "CN=Amazon RSA 2048 M02,O=Amazon,C=US",
        "notAfter": "2026-02-01T12:30:00Z",
        "dnsNames": ["vpce.example.com", "*.vpce.example.com"],
    }


def test_wildcard_san_covers_exactly_one_label() -> None:
    cert = CertificateInfo.from_peercert(PEERCERT)
    assert matching_san("a.vpce.example.com", cert) == "*.vpce.example.com"
    assert matching_san("b.a.vpce.example.com", cert) is None
    assert matching_san("vpce.example.com", cert) == "vpce.example.com"


def test_rdn_values_are_escaped() -> None:
    assert format_name(((("commonName", "a+b=c"),),)) == "CN=a\\+b\\=c"


def test_to_status_has_exactly_the_status_h2_keys_and_is_json() -> None:
    result = ProbeResult(
        ready=True,
        reason=Reason.H2_NEGOTIATED,
        message="ok",
        host="vpce.example.com",
        port=443,
        alpn="h2",
        http_version="HTTP/2",
        status_code=403,
        tls_version="TLSv1.3",
        certificate=CertificateInfo.from_peercert(PEERCERT),
        latency_ms=12,
        probed_at=datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC),
    )
    status = result.to_status()
    assert set(status) == {
        "ready",
        "reason",
        "alpn",
        "httpVersion",
        "statusCode",
        "tlsVersion",
        "certificate",
        "latencyMs",
        "lastProbeTime",
        "message",
    }
    assert status["lastProbeTime"] == "2025-03-04T05:06:07Z"
    assert status["reason"] == "H2Negotiated" and type(status["reason"]) is str
    assert json.loads(json.dumps(status)) == status


def test_failed_probe_status_has_nulls_not_missing_keys() -> None:
    result = ProbeResult(
        ready=False, reason=Reason.TIMEOUT, message="Timed out", host="h.test", port=443
    )
    status = result.to_status()
    assert status["certificate"] is None and status["statusCode"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status["lastProbeTime"])


def test_target_from_url_keeps_path_query_and_port() -> None:
    target = ProbeTarget.from_url("https://VPCE.example.com:8443/healthz?x=1", timeout=2)
    assert (target.host, target.port, target.path) == ("vpce.example.com", 8443, "/healthz?x=1")
    assert target.url == "https://vpce.example.com:8443/healthz?x=1"
    assert ProbeTarget.from_url("https://[::1]/").url == "https://[::1]/"
    assert ProbeTarget.from_url("https://h.test").port == 443


@pytest.mark.parametrize(
    "url", ["http://h.test/", "h.test", "https:///path", "https://h.test:99999/"]
)
def test_target_from_url_rejects_what_is_not_an_https_url(url: str) -> None:
    with pytest.raises(ValueError):
        ProbeTarget.from_url(url)


def test_blank_ca_bundle_means_none() -> None:
    assert ProbeTarget("h.test", ca_bundle="  \n").ca_bundle is None


def test_the_pure_parts_import_without_httpx() -> None:
    code = (
        "import sys\n"
        "from privatelink_operator.probe import ProbeResult, Reason, next_probe_delay\n"
        "from privatelink_operator.probe import render_verbose, parse_resolve\n"
        "assert 'httpx' not in sys.modules and 'httpcore' not in sys.modules\n"
        "from privatelink_operator.probe import Prober, cli_main\n"
        "assert 'httpx' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
