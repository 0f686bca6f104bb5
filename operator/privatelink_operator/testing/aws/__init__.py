"""A faithful local AWS for tests: moto in server mode on loopback, made strict, with faults.

Public API:

- :class:`AwsEmulator` - handle on a running emulator: ``endpoint_url``, ``client(service,
  account_id=...)``, ``env(account_id)``, ``faults``, ``calls``, ``reset()``, ``set_delays()``.
- :class:`EmulatorProcess` - start/stop the emulator in a child process on a free port.
- :class:`FaultRule` - throttling, 5xx and slow answers by service/action/account.
- :class:`Delays` - seconds of asynchronous transitions (NLB provisioning, endpoint states,
  private DNS verification, certificate validation).
- :class:`AwsCall`, :class:`CallLog` - the log of every AWS call by (account, service, action).
- pytest fixtures in :mod:`.fixtures`; the command ``python -m privatelink_operator.testing.aws``.

What the emulator changes in moto, and why, is in the docstrings of :mod:`.patches`.
"""

from __future__ import annotations

from .calllog import AwsCall, CallLog
from .client import CONSUMER_ACCOUNT, DEFAULT_REGION, PROVIDER_ACCOUNT, AwsEmulator
from .faults import THROTTLING, FaultRule
from .server import EmulatorProcess
from .state import Delays

__all__ = [
    "CONSUMER_ACCOUNT",
    "DEFAULT_REGION",
    "PROVIDER_ACCOUNT",
    "THROTTLING",
    "AwsCall",
    "AwsEmulator",
    "CallLog",
    "Delays",
    "EmulatorProcess",
    "FaultRule",
]
