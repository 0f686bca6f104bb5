"""The emulator's own state inside the server process: delays, fault rules, the call log.

Everything AWS-shaped lives in moto's backends (reset with them); this module holds what the
emulator adds on top, plus the single lock that serialises requests (moto is not thread-safe).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .calllog import CallRecorder
from .faults import FaultTable

__all__ = ["STATE", "Delays", "EmulatorState", "now"]


def now() -> float:
    """The emulator's clock (monotonic seconds)."""
    return time.monotonic()


@dataclass
class Delays:
    """Seconds each asynchronous AWS transition takes (0: immediate, the default).

    - ``load_balancer``: NLB ``State.Code`` provisioning -> active.
    - ``acceptance``: a new endpoint to a service that requires acceptance stays ``pending``
      this long before it shows ``pendingAcceptance`` (as on AWS).
    - ``endpoint``: an interface endpoint ``pending`` -> ``available`` (after creation without
      acceptance, or after ``AcceptVpcEndpointConnections``).
    - ``endpoint_deletion``: ``deleting`` -> gone.
    - ``dns_verification``: ``pendingVerification`` -> ``verified``/``failed`` after
      ``StartVpcEndpointServicePrivateDnsVerification`` (the TXT record is looked up then).
    - ``certificate``: an ACM certificate stays ``PENDING_VALIDATION`` at least this long, and
      until its validation CNAME exists in a public Route 53 zone.
    - ``dns_change``: a Route 53 change is ``PENDING`` this long, then ``INSYNC``.
    """

    load_balancer: float = 0.0
    acceptance: float = 0.0
    endpoint: float = 0.0
    endpoint_deletion: float = 0.0
    dns_verification: float = 0.0
    certificate: float = 0.0
    dns_change: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Delays:
        """``"2"`` (all), ``"load_balancer=2,endpoint=1"`` or ``"all=1,endpoint=3"``."""
        delays = cls()
        spec = spec.strip()
        if not spec:
            return delays
        names = [f.name for f in fields(cls)]
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            if not sep:
                key, value = "all", key
            key = key.strip().replace("-", "_")
            seconds = float(value)
            if seconds < 0:
                raise ValueError(f"delay {key} must not be negative")
            if key == "all":
                delays = cls(**dict.fromkeys(names, seconds))
            elif key in names:
                setattr(delays, key, seconds)
            else:
                raise ValueError(f"unknown delay {key!r}; known: all, {', '.join(names)}")
        return delays

    def to_json(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delays:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown delays: {', '.join(unknown)}")
        return cls(**{k: float(v) for k, v in data.items()})


class EmulatorState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.default_delays = Delays()
        self.delays = Delays()
        self.faults = FaultTable()
        self.calls = CallRecorder()

    def configure(self, delays: Delays) -> None:
        self.default_delays = replace(delays)
        self.delays = replace(delays)

    def reset(self) -> None:
        """Back to the start-up configuration: no faults, empty call log, default delays."""
        self.delays = replace(self.default_delays)
        self.faults.clear()
        self.calls.clear()


STATE = EmulatorState()
