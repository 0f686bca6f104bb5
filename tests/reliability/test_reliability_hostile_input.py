"""Hostile input that passes the schema but AWS (or the operator's own checks) rejects: the
object ends ``Stalled=True`` with the AWS error code (or a named check) as its reason and a
message that says what to change, further passes make no write call, and fixing the spec
recovers without deleting anything. Run in-process against the AWS emulator (fast)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pydantic import ValidationError
from reliability_helpers import (
    CONSUMER_ROOT,
    PLS_KIND,
    PROVIDER_NS,
    Passes,
    condition,
    pls_spec,
)

from privatelink_operator import crdgen
from privatelink_operator.admission import AdmissionError, SchemaValidator
from privatelink_operator.api import PrivateLinkServiceSpec
from privatelink_operator.testing.aws import AwsEmulator
from privatelink_operator.testing.world import World


def _other_name_certificate(world: World) -> str:
    import trustme

    leaf = trustme.CA().issue_cert("shop.other-company.test")
    arn: str = world.client("acm").import_certificate(
        Certificate=leaf.cert_chain_pems[0].bytes(),
        PrivateKey=leaf.private_key_pem.bytes(),
    )["CertificateArn"]
    return arn


def _other_zone(world: World) -> str:
    zone = world.client("route53").create_hosted_zone(Name="other.test", CallerReference="o")
    zone_id: str = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    return zone_id


def admit(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec as the API server stores it: pruned, defaulted, validated (schema and CEL)."""
    crd = next(c for c in crdgen.all_crds() if c["spec"]["names"]["kind"] == PLS_KIND)
    body = {
        "apiVersion": "privatelink.operator.dev/v1alpha1",
        "kind": PLS_KIND,
        "metadata": {"name": "svc", "namespace": PROVIDER_NS},
        "spec": dict(spec),
    }
    admitted: dict[str, Any] = SchemaValidator.from_crd(crd).admit(body)["spec"]
    return admitted


# (id, how to break the spec, the stall reason, words the message must hold)
Breaker = Callable[[World, dict[str, Any]], None]


def _subnet(world: World, spec: dict[str, Any]) -> None:
    spec["subnetIds"] = ["subnet-0123456789abcdef0"]


def _certificate(world: World, spec: dict[str, Any]) -> None:
    spec["listener"]["certificateArn"] = _other_name_certificate(world)


def _zone(world: World, spec: dict[str, Any]) -> None:
    spec["dns"]["hostedZoneId"] = _other_zone(world)


CASES: list[tuple[str, Breaker, tuple[str, ...]]] = [
    ("unknown-subnet", _subnet, ("subnet-0123456789abcdef0", "Fix spec.subnetIds.")),
    ("certificate-for-another-name", _certificate, ("certificate", "svc1.vpce.example.com")),
    ("zone-not-covering-the-name", _zone, ("hostedZoneId", "svc1.vpce.example.com")),
]


@pytest.mark.parametrize(("breaker", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_input_aws_rejects_stalls_with_its_code_makes_no_more_writes_and_a_fix_recovers(
    world: World,
    aws_emulator: AwsEmulator,
    passes: Passes,
    wildcard_certificate: str,
    breaker: Breaker,
    words: tuple[str, ...],
) -> None:
    good = pls_spec(world, wildcard_certificate, 1)
    bad = copy.deepcopy(good)
    breaker(world, bad)
    bad = admit(bad)  # it passes the schema and the CEL rules (AdmissionError otherwise)
    good = admit(good)

    outcome = passes.run(bad)

    stall = outcome.plan.stall
    assert stall is not None, outcome.plan.to_text()
    stalled = condition({"status": passes.status}, "Stalled")
    # The AWS code, as a condition reason may spell it (no dots: InvalidSubnetIDNotFound).
    assert (stalled["status"], stalled["reason"]) == ("True", stall.reason.replace(".", ""))
    assert stall.reason[:1].isupper() and " " not in stall.reason, stall.reason
    print(f"\n{stall.reason}: {stall.message}")
    for word in words:
        assert word in stall.message, stall.message
    mark = aws_emulator.calls.mark()
    again = passes.run(bad, passes=3)
    assert again.plan.stall is not None
    assert aws_emulator.calls.writes(since=mark) == [], "a stalled object writes nothing"

    fixed = passes.run(good, passes=8)

    assert fixed.plan.stall is None, fixed.plan.to_text()
    deletes = [c.action for c in aws_emulator.calls.writes(since=mark) if "Delete" in c.action]
    assert deletes == [], deletes
    assert condition({"status": passes.status}, "Stalled")["status"] == "False"
    assert CONSUMER_ROOT in good["endpointService"]["allowedPrincipals"]


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        "arn:aws:iam::12345:root",
        "arn:aws:iam::222222222222:role/team/app",
        "222222222222",
        "arn:aws:iam::*:root",
    ],
)
@pytest.mark.parametrize("field", ["allowedPrincipals", "autoAcceptPrincipals"])
def test_a_principal_that_is_star_or_not_an_account_arn_is_refused_at_admission_and_by_the_model(
    world: World, wildcard_certificate: str, principal: str, field: str
) -> None:
    """``*`` would open the service to every AWS account: never, not even when the API
    server runs without the CRD's CEL rules (the operator's own model refuses it: the object
    then stalls as InvalidSpec without any AWS call)."""
    spec = admit(pls_spec(world, wildcard_certificate, 1))
    spec["endpointService"][field] = [principal]

    with pytest.raises(AdmissionError) as refused:
        admit(spec)
    with pytest.raises(ValidationError):
        PrivateLinkServiceSpec.model_validate(spec)

    assert "principal" in str(refused.value).lower()
