"""Drift snapshots' pages that AWS answers as last time are not parsed again (pagememo)."""

from __future__ import annotations

import json
from typing import Any

from privatelink_operator.aws import AwsClients
from privatelink_operator.pagememo import SharedStrings, new_round, reused_pages
from privatelink_operator.testing.world import World


def _load_balancers(world: World, count: int) -> list[str]:
    elbv2 = world.client("elbv2")
    return [
        elbv2.create_load_balancer(
            Name=f"memo-{i}", Type="network", Scheme="internal", Subnets=world.provider.subnet_ids
        )["LoadBalancers"][0]["LoadBalancerArn"]
        for i in range(count)
    ]


def _pages(aws: AwsClients) -> list[dict[str, Any]]:
    """Every page of DescribeLoadBalancers, two load balancers a page."""
    pages, params = [], {"PageSize": 2}
    while True:
        page = aws.call("elbv2", "describe_load_balancers", **params)
        pages.append(page)
        if not page.get("NextMarker"):
            return pages
        params["Marker"] = page["NextMarker"]


def test_a_page_answered_as_last_time_is_the_last_snapshots_objects_not_a_new_parse(
    provider_aws: AwsClients, world: World
) -> None:
    _load_balancers(world, 5)
    memo = provider_aws.parsers.memo
    with reused_pages():
        first = _pages(provider_aws)
    assert len(first) == 3 and memo.misses == 3 and memo.hits == 0
    with reused_pages():
        second = _pages(provider_aws)

    assert memo.hits == 3, "request ids differ; the rest of each page does not"
    assert second == first
    for old, new in zip(first, second, strict=True):
        assert new is not old, "each caller owns its answer's top level"
        assert new["LoadBalancers"] is old["LoadBalancers"]
    # AwsClients.call dropped the metadata from the caller's answer, not from what is kept.
    assert "ResponseMetadata" not in second[0]


def test_a_changed_item_makes_its_page_parsed_anew_and_others_are_kept(
    provider_aws: AwsClients, world: World
) -> None:
    arns = _load_balancers(world, 4)
    with reused_pages():
        first = _pages(provider_aws)
    world.client("elbv2").delete_load_balancer(LoadBalancerArn=arns[2])
    with reused_pages():
        second = _pages(provider_aws)

    names = [[lb["LoadBalancerName"] for lb in p["LoadBalancers"]] for p in second]
    assert names == [["memo-0", "memo-1"], ["memo-3"]]
    assert second[0]["LoadBalancers"] is first[0]["LoadBalancers"]
    assert second[1]["LoadBalancers"] is not first[1]["LoadBalancers"]


def test_answers_outside_a_snapshot_are_parsed_every_time(
    provider_aws: AwsClients, world: World
) -> None:
    _load_balancers(world, 1)
    first = provider_aws.call("elbv2", "describe_load_balancers")
    second = provider_aws.call("elbv2", "describe_load_balancers")
    assert first == second and first["LoadBalancers"] is not second["LoadBalancers"]
    assert provider_aws.parsers.memo.hits == 0 and len(provider_aws.parsers.memo) == 0


def test_pages_not_read_in_the_last_snapshot_are_forgotten(
    provider_aws: AwsClients, world: World
) -> None:
    _load_balancers(world, 3)
    memo = provider_aws.parsers.memo
    with reused_pages():
        _pages(provider_aws)  # 2 pages
    with reused_pages():
        provider_aws.call("elbv2", "describe_load_balancers", PageSize=400)  # 1 other page
    assert len(memo) == 3, "the last round's pages are kept"
    with reused_pages():
        provider_aws.call("elbv2", "describe_load_balancers", PageSize=400)
    assert len(memo) == 1


def test_a_snapshots_reads_in_several_blocks_are_one_round(
    provider_aws: AwsClients, world: World
) -> None:
    """A snapshot reads its pages, and later, on demand, a hosted zone's records: both in its
    round, so the next snapshot finds both."""
    _load_balancers(world, 1)
    memo = provider_aws.parsers.memo
    first = new_round()
    with reused_pages(first):
        provider_aws.call("elbv2", "describe_load_balancers")
    with reused_pages(first):
        records = provider_aws.call(
            "route53", "list_resource_record_sets", HostedZoneId=world.zone_id
        )
    assert len(memo) == 2
    with reused_pages(new_round()):
        provider_aws.call("elbv2", "describe_load_balancers")
        again = provider_aws.call(
            "route53", "list_resource_record_sets", HostedZoneId=world.zone_id
        )
    assert memo.hits == 2
    assert again["ResourceRecordSets"] is records["ResourceRecordSets"]


def test_values_two_answers_repeat_are_one_string_arns_included(
    provider_aws: AwsClients, world: World
) -> None:
    _load_balancers(world, 2)
    first = provider_aws.call("elbv2", "describe_load_balancers", Names=["memo-0"])
    second = provider_aws.call("elbv2", "describe_load_balancers", Names=["memo-1"])

    one, two = first["LoadBalancers"][0], second["LoadBalancers"][0]
    assert one["VpcId"] == two["VpcId"] and one["VpcId"] is two["VpcId"]
    assert one["State"]["Code"] is two["State"]["Code"]
    zones = [z["SubnetId"] for z in one["AvailabilityZones"]]
    assert zones == [z["SubnetId"] for z in two["AvailabilityZones"]]
    assert all(
        a is b
        for a, b in zip(zones, [z["SubnetId"] for z in two["AvailabilityZones"]], strict=True)
    )
    # An ARN is one resource's, but several answers name it: one string for all of them.
    arn = one["LoadBalancerArn"]
    assert len(arn) <= provider_aws.parsers.strings.longest < 300
    tags = provider_aws.call("elbv2", "describe_tags", ResourceArns=["".join(arn)])
    assert tags["TagDescriptions"][0]["ResourceArn"] is arn
    assert arn != two["LoadBalancerArn"]


def test_the_shared_strings_table_is_emptied_at_its_limit_and_answers_keep_their_values() -> None:
    strings = SharedStrings(longest=8, limit=3)
    answer = {"A": ["x1", "x2", {"B": "x3"}], "C": "x4", "D": "a" * 9, "E": 5}
    copy = {"A": ["x1", "x2", {"B": "x3"}], "C": "x4", "D": "a" * 9, "E": 5}

    assert strings.share(answer) == copy
    assert len(strings) == 1  # x1, x2, x3 filled it; x4 emptied it and went in alone
    again = strings.share({"C": "".join(["x", "4"])})
    assert again["C"] is answer["C"]


def test_a_shared_copy_of_two_watch_bodies_shares_their_keys_and_short_values() -> None:
    strings = SharedStrings(longest=16)

    def body(name: str) -> Any:
        return json.loads(
            json.dumps(
                {
                    "metadata": {"name": name, "finalizers": ["x/finalizer"]},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                    "spec": {"note": name * 20, "port": 443},
                }
            )
        )

    raw_one, raw_two = body("one"), body("two")
    one, two = strings.shared_copy(raw_one), strings.shared_copy(raw_two)
    assert one == raw_one and two == raw_two and one is not raw_one
    key_one = next(k for k in one["status"]["conditions"][0] if k == "status")
    key_two = next(k for k in two["status"]["conditions"][0] if k == "status")
    assert key_one is key_two  # keys: each json.loads made its own
    assert one["status"]["conditions"][0]["status"] is two["status"]["conditions"][0]["status"]
    assert one["metadata"]["finalizers"][0] is two["metadata"]["finalizers"][0]
    assert one["spec"]["note"] is raw_one["spec"]["note"]  # longer than 16: left alone
