"""Route 53 changes are PENDING before INSYNC, each with its own change id."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_record_change_is_pending_until_the_delay_passes_then_insync(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(dns_change=0.3)
    change = world.upsert(world.public_zone("example.com"), "_x.example.com", "TXT", '"v"')
    assert change["Status"] == "PENDING"

    def status() -> str:
        value: str = world.route53.get_change(Id=change["Id"])["ChangeInfo"]["Status"]
        return value

    assert status() == "PENDING"
    eventually(lambda: status() == "INSYNC")


def test_each_change_has_its_own_id_and_unknown_ids_fail(world: Any) -> None:
    zone = world.public_zone("example.com")
    changes = [world.upsert(zone, "a.example.com", "TXT", value) for value in ('"1"', '"2"')]
    assert [c["Status"] for c in changes] == ["INSYNC", "INSYNC"]
    assert changes[0]["Id"] != changes[1]["Id"]
    with pytest.raises(ClientError) as excinfo:
        world.route53.get_change(Id="/change/C0000000000000")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchChange"
