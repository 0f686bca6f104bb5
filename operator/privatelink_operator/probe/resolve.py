"""``HOST:PORT:ADDRESS`` connection overrides, the way ``curl --resolve`` reads them.

Pure: no sockets. The prober consults a :class:`ResolveMap` before it resolves a name, connects
to the override's address instead, and keeps SNI, certificate verification and the Host header
on HOST. That is how the operator probes a VPC endpoint from outside its VPC, and how tests point
a real hostname at a loopback server.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["ResolveMap", "ResolveRule", "parse_resolve"]

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class ResolveRule:
    """Connect to ``addresses`` (tried in order) whenever the probe targets ``host:port``.

    ``host`` is lower case; ``*`` matches every host on that port.
    """

    host: str
    port: int
    addresses: tuple[str, ...]

    def __str__(self) -> str:
        addresses = ",".join(f"[{a}]" if ":" in a else a for a in self.addresses)
        return f"{self.host}:{self.port}:{addresses}"


def _is_hostname(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return len(text) <= 253 and all(_LABEL.match(label) for label in labels)


def _parse_address(text: str, whole: str) -> str:
    address = text.strip()
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    if not address:
        raise ValueError(f"--resolve {whole!r}: empty ADDRESS (expected HOST:PORT:ADDRESS)")
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        pass
    if _is_hostname(address):
        return address.lower()
    raise ValueError(
        f"--resolve {whole!r}: {address!r} is neither an IP address nor a host name "
        "(IPv6 addresses may be written in brackets: HOST:443:[2001:db8::1])"
    )


def parse_resolve(text: str) -> ResolveRule:
    """Parse ``HOST:PORT:ADDRESS[,ADDRESS...]``.

    Like curl: IPv6 addresses may be bracketed, several addresses are tried in order, a leading
    ``+`` is accepted and ignored, and ``*`` as HOST matches any host. Unlike curl, ADDRESS may
    also be a host name (for example a Kubernetes Service name), which is then resolved.
    Raises ValueError with a message meant for a person.
    """
    whole = text
    spec = text.strip()
    if spec.startswith("+"):
        spec = spec[1:]
    if spec.startswith("-"):
        raise ValueError(f"--resolve {whole!r}: removing entries ('-HOST:PORT') is not supported")
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0 or spec[end + 1 : end + 2] != ":":
            raise ValueError(f"--resolve {whole!r}: expected HOST:PORT:ADDRESS")
        host, rest = spec[1:end], spec[end + 2 :]
    else:
        host, sep, rest = spec.partition(":")
        if not sep:
            raise ValueError(f"--resolve {whole!r}: expected HOST:PORT:ADDRESS")
    port_text, sep, addresses_text = rest.partition(":")
    if not sep:
        raise ValueError(f"--resolve {whole!r}: expected HOST:PORT:ADDRESS")
    host = host.strip().lower().rstrip(".")
    if not host or (host != "*" and not _is_hostname(host) and not _is_ip(host)):
        raise ValueError(f"--resolve {whole!r}: {host!r} is not a valid host name")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"--resolve {whole!r}: port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"--resolve {whole!r}: port {port} is out of range 1-65535")
    addresses = tuple(_parse_address(part, whole) for part in _split_addresses(addresses_text))
    if not addresses:
        raise ValueError(f"--resolve {whole!r}: empty ADDRESS (expected HOST:PORT:ADDRESS)")
    return ResolveRule(host=host, port=port, addresses=addresses)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _split_addresses(text: str) -> list[str]:
    # Commas separate addresses; none of IPv4, IPv6 or host names contain one.
    return [part for part in text.split(",") if part.strip()] if text.strip() else []


class ResolveMap:
    """A set of overrides. An exact HOST:PORT rule wins over a ``*:PORT`` rule."""

    def __init__(self, rules: Iterable[ResolveRule | str] = ()) -> None:
        self._rules: dict[tuple[str, int], ResolveRule] = {}
        for rule in rules:
            parsed = parse_resolve(rule) if isinstance(rule, str) else rule
            self._rules[(parsed.host, parsed.port)] = parsed

    def lookup(self, host: str, port: int) -> tuple[str, ...] | None:
        """The addresses to connect to for ``host:port``, or None to use DNS."""
        key = host.lower().rstrip(".")
        if key.startswith("[") and key.endswith("]"):
            key = key[1:-1]
        rule = self._rules.get((key, port)) or self._rules.get(("*", port))
        return rule.addresses if rule is not None else None

    def __iter__(self) -> Iterator[ResolveRule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)
