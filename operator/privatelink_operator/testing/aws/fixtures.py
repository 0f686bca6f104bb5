"""pytest fixtures for the AWS emulator. Import them in a ``conftest.py``::

    from privatelink_operator.testing.aws.fixtures import aws_emulator, aws_emulator_session

- ``aws_emulator_session`` (session): one emulator process for the whole run, stopped (and
  checked gone) at the end. ``AWS_EMULATOR_DELAYS`` (same syntax as ``--delays``) sets its
  start-up delays.
- ``aws_emulator`` (function): the same emulator, reset before the test: empty accounts, no
  fault rules, empty call log, start-up delays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .client import AwsEmulator
from .server import EmulatorProcess
from .state import Delays

__all__ = ["aws_emulator", "aws_emulator_session"]


@pytest.fixture(scope="session")
def aws_emulator_session() -> Iterator[AwsEmulator]:
    process = EmulatorProcess(delays=Delays.parse(os.environ.get("AWS_EMULATOR_DELAYS", "")))
    url = process.start()
    try:
        yield AwsEmulator(url)
    finally:
        process.stop()


@pytest.fixture
def aws_emulator(aws_emulator_session: AwsEmulator) -> AwsEmulator:
    aws_emulator_session.reset()
    return aws_emulator_session
