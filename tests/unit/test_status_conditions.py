"""kstatus conditions: Ready only when every part holds; transitions keep their time."""

from __future__ import annotations

from privatelink_operator.status import Condition, Stall, merge_conditions, summarize


def by_type(conds: list[Condition]) -> dict[str, Condition]:
    return {c.type: c for c in conds}


def test_ready_only_when_every_part_is_true() -> None:
    parts = [Condition.true("LoadBalancerReady", "Active"), Condition.true("DnsVerified", "Ok")]
    conds = by_type(summarize(parts))
    assert conds["Ready"].status == "True"
    assert conds["Reconciling"].status == "False"
    assert conds["Stalled"].status == "False"


def test_a_pending_part_makes_the_object_reconciling_with_that_parts_reason() -> None:
    parts = [
        Condition.true("LoadBalancerReady", "Active"),
        Condition.false("DnsVerified", "PendingVerification", "waiting for AWS to see the TXT"),
    ]
    conds = by_type(summarize(parts))
    assert conds["Ready"].status == "False"
    assert conds["Ready"].reason == "PendingVerification"
    assert conds["Reconciling"].status == "True"
    assert conds["Stalled"].status == "False"


def test_a_stall_is_not_reconciling_and_names_the_aws_error() -> None:
    conds = by_type(
        summarize(
            [Condition.unknown("LoadBalancerReady", "NotCreated")],
            Stall("InvalidSubnet", "subnet-1 does not exist: fix spec.subnetIds"),
        )
    )
    assert conds["Stalled"].status == "True"
    assert conds["Stalled"].reason == "InvalidSubnet"
    assert conds["Reconciling"].status == "False"
    assert conds["Ready"].status == "False"
    assert "spec.subnetIds" in conds["Ready"].message


def test_last_transition_time_changes_only_when_the_status_does() -> None:
    first = merge_conditions(None, [Condition.false("Ready", "Pending")], 1, now="T1")
    same = merge_conditions(first, [Condition.false("Ready", "StillPending")], 2, now="T2")
    flipped = merge_conditions(same, [Condition.true("Ready", "Ready")], 2, now="T3")
    assert same[0]["lastTransitionTime"] == "T1"
    assert same[0]["reason"] == "StillPending" and same[0]["observedGeneration"] == 2
    assert flipped[0]["lastTransitionTime"] == "T3"


def test_conditions_written_by_others_are_kept() -> None:
    existing = [{"type": "ArgoCustom", "status": "True"}]
    merged = merge_conditions(existing, [Condition.true("Ready", "Ready")], 1, now="T")
    assert [c["type"] for c in merged] == ["Ready", "ArgoCustom"]
