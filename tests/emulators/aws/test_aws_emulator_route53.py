"""Route 53 changes are PENDING before INSYNC, each with its own change id."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_record_change_is_pending_until_the_delay_passes_then_insync(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(dns_change=0.3)
    zone = world.public_zone("example.com")
    change = world.route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": "_x.example.com",
                        "Type": "TXT",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": '"v"'}],
                    },
                }
            ]
        },
    )["ChangeInfo"]
    assert change["Status"] == "PENDING"

    def status() -> str:
        value: str = world.route53.get_change(Id=change["Id"])["ChangeInfo"]["Status"]
        return value

    assert status() == "PENDING"
    eventually(lambda: status() == "INSYNC")


def test_each_change_has_its_own_id_and_unknown_ids_fail(world: Any) -> None:
    zone = world.public_zone("example.com")
    world.upsert(zone, "a.example.com", "TXT", '"1"')
    ids = set()
    for value in ('"2"', '"3"'):
        change = world.route53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": "a.example.com",
                            "Type": "TXT",
                            "TTL": 60,
                            "ResourceRecords": [{"Value": value}],
                        },
                    }
                ]
            },
        )["ChangeInfo"]
        assert change["Status"] == "INSYNC"
        ids.add(change["Id"])
    assert len(ids) == 2
    with pytest.raises(ClientError) as excinfo:
        world.route53.get_change(Id="/change/C0000000000000")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchChange"
