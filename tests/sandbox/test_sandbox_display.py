"""The sandbox's progress display and its edits to examples/."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from privatelink_operator.api import PrivateLinkEndpointSpec, PrivateLinkServiceSpec
from privatelink_operator.sandbox.display import ConditionTracker, Display, Watched
from privatelink_operator.sandbox.examples import (
    ENDPOINT_FILE,
    SERVICE_FILE,
    adapt_endpoint,
    adapt_service,
    default_examples_dir,
    load_example,
)

PLS = Watched("provider", "pls", "payments", "orders", ("LoadBalancerReady", "Ready"))
PLE = Watched("consumer", "ple", "checkout", "orders", ("H2Ready", "Ready"))
CERT_ARN = "arn:aws:acm:us-east-1:111111111111:certificate/0123"


def obj(**conditions: tuple[str, str]) -> dict[str, Any]:
    return {
        "status": {
            "conditions": [
                {"type": t, "status": s, "reason": r, "message": f"{t} is {s}"}
                for t, (s, r) in conditions.items()
            ]
        }
    }


def test_a_condition_is_reported_when_its_status_or_reason_changes_and_not_otherwise() -> None:
    tracker = ConditionTracker([PLS, PLE])
    assert tracker.observe(PLS, None, 1.0) == []
    first = tracker.observe(PLS, obj(LoadBalancerReady=("False", "Provisioning")), 2.0)
    assert [(c.condition, c.status, c.reason, c.at) for c in first] == [
        ("LoadBalancerReady", "False", "Provisioning", 2.0)
    ]
    assert tracker.observe(PLS, obj(LoadBalancerReady=("False", "Provisioning")), 3.0) == []
    turned = tracker.observe(
        PLS, obj(LoadBalancerReady=("True", "Active"), Ready=("True", "Ready")), 4.0
    )
    assert [(c.condition, c.status) for c in turned] == [
        ("LoadBalancerReady", "True"),
        ("Ready", "True"),
    ]
    assert tracker.missing() == [
        "consumer ple checkout/orders H2Ready=not reported yet",
        "consumer ple checkout/orders Ready=not reported yet",
    ]


def test_without_a_terminal_each_change_is_one_plain_line_with_its_reason() -> None:
    out = io.StringIO()
    display = Display(out, live=False)
    tracker = ConditionTracker([PLE])
    display.watch(tracker, "waiting")
    display.step(0.5, "started")
    changes = tracker.observe(PLE, obj(H2Ready=("False", "H2NotNegotiated")), 7.25)
    display.update(7.25, changes)
    text = out.getvalue()
    assert "\x1b" not in text
    assert text.splitlines() == [
        "[  0.5s] started",
        "[  7.2s]   consumer ple checkout/orders  "
        "H2Ready=False (H2NotNegotiated): H2Ready is False",
    ]


def test_on_a_terminal_the_table_is_redrawn_in_place_below_the_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    out = io.StringIO()
    display = Display(out, live=True)
    tracker = ConditionTracker([PLS])
    display.watch(tracker, "Waiting")
    display.update(1.0, tracker.observe(PLS, obj(Ready=("True", "Ready")), 1.0))
    display.step(1.5, "a step")
    text = out.getvalue()
    assert "\x1b[4F\x1b[J" in text  # title, object and two rows erased before each redraw
    assert text.rstrip().splitlines()[-1].strip().startswith("Ready")
    assert "a step" in text
    # a line wider than the terminal would wrap and break the count of lines to erase
    visible = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    assert max(len(line) for line in visible.splitlines()) < 60


def test_the_sandbox_edits_keep_the_examples_valid_and_say_what_changed() -> None:
    directory = default_examples_dir()
    service, service_notes = adapt_service(
        load_example(directory, SERVICE_FILE),
        subnet_ids=["subnet-0000000000000000a", "subnet-0000000000000000b"],
        certificate_arn=CERT_ARN,
    )
    listener = service["spec"]["listener"]
    assert listener["certificateArn"] == CERT_ARN and "requestCertificate" not in listener
    assert listener["alpnPolicy"] == "HTTP2Preferred"  # the example's own policy is kept
    PrivateLinkServiceSpec.model_validate(service["spec"])
    endpoint, endpoint_notes = adapt_endpoint(
        load_example(directory, ENDPOINT_FILE),
        vpc_id="vpc-0000000000000000c",
        subnet_ids=["subnet-0000000000000000c"],
        probe_port=40443,
        ca_config_map="corp-ca",
        interval_seconds=5,
    )
    probe = endpoint["spec"]["probe"]
    assert probe["port"] == 40443 and probe["caBundleRef"]["name"] == "corp-ca"
    assert probe["timeoutSeconds"] < probe["intervalSeconds"] == 5
    PrivateLinkEndpointSpec.model_validate(endpoint["spec"])
    notes = " ".join(service_notes + endpoint_notes)
    for field in ("subnetIds", "certificateArn", "vpcId", "probe.port", "caBundleRef"):
        assert field in notes


def test_without_kubectl_the_final_table_is_what_kubectl_get_o_wide_prints() -> None:
    """Same columns as ``kubectl get pls,ple -A -o wide`` against the emulator."""
    from privatelink_operator import crdgen
    from privatelink_operator.sandbox.run import wide_table
    from privatelink_operator.testing.kube import KubeEmulator

    with KubeEmulator(name="table", crds=crdgen.all_crds()) as cluster:
        cluster.create_namespace("checkout")
        cluster.create(
            {
                "apiVersion": "privatelink.operator.dev/v1alpha1",
                "kind": "PrivateLinkEndpoint",
                "metadata": {"name": "orders", "namespace": "checkout"},
                "spec": {
                    "privateDnsName": "orders.vpce.example.com",
                    "vpcId": "vpc-0c0ffee0000000001",
                    "subnetIds": ["subnet-0c0ffee0000000001"],
                },
            }
        )
        kinds = [
            ("privatelink.operator.dev/v1alpha1", "PrivateLinkService"),
            ("privatelink.operator.dev/v1alpha1", "PrivateLinkEndpoint"),
        ]
        text = wide_table(cluster, kinds)
    header, row = text.splitlines()
    assert header.split() == [
        "NAMESPACE", "NAME", "SERVICE", "STATE", "READY", "H2", "REASON", "ENDPOINT", "AGE",
    ]  # fmt: skip
    assert row.split()[:2] == ["checkout", "privatelinkendpoint.privatelink.operator.dev/orders"]
