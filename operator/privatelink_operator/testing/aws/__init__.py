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

Usage in a test suite (``conftest.py``)::

    from privatelink_operator.testing.aws.fixtures import aws_emulator, aws_emulator_session

    def test_something(aws_emulator):
        ec2 = aws_emulator.client("ec2", account_id=CONSUMER_ACCOUNT)
        aws_emulator.faults.throttle("elbv2", "CreateListener", times=2)
        aws_emulator.set_delays(load_balancer=1.0)
        mark = aws_emulator.calls.mark()
        ...
        assert aws_emulator.calls.writes(since=mark) == []

A process under test (the operator, the AWS CLI) reaches the same emulator with
``aws_emulator.env(account_id)``: ``AWS_ENDPOINT_URL`` plus the account id as access key id.

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
