"""``HOST:PORT:ADDRESS`` parsing (curl --resolve syntax), no sockets."""

from __future__ import annotations

import pytest

from privatelink_operator.probe import ResolveMap, ResolveRule, parse_resolve


def test_host_port_address_is_parsed_like_curl() -> None:
    assert parse_resolve("vpce.example.com:443:10.0.1.5") == ResolveRule(
        "vpce.example.com", 443, ("10.0.1.5",)
    )


def test_host_is_case_insensitive_and_trailing_dot_is_ignored() -> None:
    rule = parse_resolve("VPCE.Example.COM.:443:10.0.1.5")
    assert rule.host == "vpce.example.com"
    assert ResolveMap([rule]).lookup("Vpce.Example.Com", 443) == ("10.0.1.5",)


def test_ipv6_address_may_be_bracketed_or_bare() -> None:
    assert parse_resolve("h.test:8443:[::1]").addresses == ("::1",)
    assert parse_resolve("h.test:8443:2001:db8::1").addresses == ("2001:db8::1",)


def test_several_addresses_are_kept_in_order() -> None:
    rule = parse_resolve("h.test:443:10.0.2.7,[::1],10.0.1.5")
    assert rule.addresses == ("10.0.2.7", "::1", "10.0.1.5")
    assert str(rule) == "h.test:443:10.0.2.7,[::1],10.0.1.5"


def test_a_host_name_is_accepted_as_address() -> None:
    assert parse_resolve("h.test:443:orders.payments.svc").addresses == ("orders.payments.svc",)


def test_curl_plus_prefix_is_accepted() -> None:
    assert parse_resolve("+h.test:443:127.0.0.1").host == "h.test"


def test_exact_rule_wins_over_wildcard_and_port_must_match() -> None:
    rules = ResolveMap(["*:443:10.0.0.1", "h.test:443:10.0.0.2"])
    assert rules.lookup("h.test", 443) == ("10.0.0.2",)
    assert rules.lookup("other.test", 443) == ("10.0.0.1",)
    assert rules.lookup("h.test", 8443) is None
    assert len(rules) == 2


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("h.test", "expected HOST:PORT:ADDRESS"),
        ("h.test:443", "expected HOST:PORT:ADDRESS"),
        ("h.test:443:", "empty ADDRESS"),
        ("h.test:https:10.0.0.1", "not a number"),
        ("h.test:0:10.0.0.1", "out of range"),
        ("h.test:70000:10.0.0.1", "out of range"),
        ("h.test:443:not an address!", "neither an IP address nor a host name"),
        ("-h.test:443:10.0.0.1", "not supported"),
        (":443:10.0.0.1", "not a valid host name"),
    ],
)
def test_malformed_entries_are_rejected_with_a_readable_message(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_resolve(text)
