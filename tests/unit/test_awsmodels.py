"""Trimmed botocore service models (awsmodels): complete for every call the operator can make,
equal to what the generator makes from the pinned botocore, and working against the emulator."""

from __future__ import annotations

import ast
import itertools
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore
import pytest

from privatelink_operator import awsmodels
from privatelink_operator.aws import SERVICES, AwsClients, AwsError
from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator

PACKAGE = Path(awsmodels.__file__).parent.parent
# Code that never runs in the operator process: emulators, benchmark, sandbox, this generator.
NOT_OPERATOR = ("testing", "bench", "sandbox", "awsmodels")
CLIENT_METHODS_NOT_OPERATIONS = {"get_paginator", "get_waiter", "can_paginate", "close"}


def full_methods(service: str) -> set[str]:
    """Every boto3 method name of ``service`` in botocore's full model."""
    loader = awsmodels.builtin_loader()
    version = loader.determine_latest_version(service, "service-2")
    model = loader.load_data(f"{service}/{version}/service-2")
    return {botocore.xform_name(name) for name in model["operations"]}


def _operation_names(service: str, node: ast.expr, where: str) -> set[str]:
    """The operation ``node`` names: a string, or an f-string matched against the service's
    full model (``f"{action}_targets"``: register_targets, deregister_targets)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.JoinedStr):
        pattern = "".join(
            re.escape(part.value) if isinstance(part, ast.Constant) else "[a-z0-9_]+"
            for part in node.values
        )
        found = {m for m in full_methods(service) if re.fullmatch(pattern, m)}
        assert found, f"{where}: {ast.unparse(node)} matches no {service} operation"
        return found
    return set()


def _service_of(receiver: ast.expr) -> str | None:
    """``aws.elbv2`` / ``ec2`` / ``self.aws.acm``: the client's service, if the name says it."""
    name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
    return name if name in SERVICES else None


def _is_service(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in SERVICES


def scan_calls() -> Iterator[tuple[str, str, str]]:
    """(service, operation, where) for every AWS operation the operator's code names:
    ``call("ec2", "describe_subnets", ...)`` (and any call or tuple whose items are a service
    then an operation: ``Step(resource, action, summary, "elbv2", "add_tags", ...)``,
    ``("route53", "get_hosted_zone")``), ``Step(..., service="acm", operation="...")``,
    ``aws.elbv2.get_paginator("describe_listeners")`` and ``aws.ec2.describe_subnets(...)``."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in NOT_OPERATOR:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{rel}:{getattr(node, 'lineno', '?')}"
            items: list[ast.expr] = []
            if isinstance(node, ast.Call):
                items = list(node.args)
                kw = {k.arg: k.value for k in node.keywords}
                if "service" in kw and "operation" in kw and _is_service(kw["service"]):
                    service = str(kw["service"].value)  # type: ignore[attr-defined]
                    for op in _operation_names(service, kw["operation"], where):
                        yield service, op, where
                func = node.func
                if isinstance(func, ast.Attribute):
                    service_of = _service_of(func.value)
                    if func.attr in ("get_paginator", "get_waiter") and node.args:
                        assert service_of, f"{where}: which service is {ast.unparse(func.value)}?"
                        if func.attr == "get_paginator":
                            for op in _operation_names(service_of, node.args[0], where):
                                yield service_of, op, where
                    elif service_of and func.attr not in CLIENT_METHODS_NOT_OPERATIONS:
                        yield service_of, func.attr, where
            elif isinstance(node, ast.Tuple):
                items = list(node.elts)
            for first, second in itertools.pairwise(items):
                if _is_service(first) and not _is_service(second):
                    service = str(first.value)  # type: ignore[attr-defined]
                    for op in _operation_names(service, second, where):
                        yield service, op, where


SCANNED = sorted(set(scan_calls()))


def test_the_scan_sees_every_form_of_call() -> None:
    found = {(s, o) for s, o, _ in SCANNED}
    assert ("sts", "get_caller_identity") in found  # aws.call("sts", ...)
    assert ("elbv2", "deregister_targets") in found  # Step(..., "elbv2", f"{action}_targets")
    assert ("elbv2", "describe_listeners") in found  # aws.elbv2.get_paginator(...)
    assert ("ec2", "create_vpc_endpoint_service_configuration") in found  # Step(...)


def test_every_operation_the_operator_calls_is_in_the_trimmed_models() -> None:
    missing = [
        f"{where}: {service}.{op}"
        for service, op, where in SCANNED
        if op not in awsmodels.OPERATIONS.get(service, ())
    ]
    assert not missing, "add these to awsmodels.OPERATIONS, then run `make models`:\n" + "\n".join(
        missing
    )


def test_every_listed_operation_is_called_somewhere() -> None:
    """A listed operation nobody calls costs memory, or the scan above misses a form of call."""
    called = {(s, o) for s, o, _ in SCANNED}
    unused = [
        f"{service}.{op}"
        for service, ops in awsmodels.OPERATIONS.items()
        for op in ops
        if (service, op) not in called
    ]
    assert not unused


def test_the_operations_are_real_and_the_services_the_operators() -> None:
    assert set(awsmodels.OPERATIONS) == set(SERVICES)
    for service, ops in awsmodels.OPERATIONS.items():
        assert len(set(ops)) == len(ops), service
        assert set(ops) <= full_methods(service), service


def test_committed_models_equal_the_generated_ones() -> None:
    assert awsmodels.recorded_botocore_version() == botocore.__version__, (
        "the trimmed models are from another botocore: run `make models`"
    )
    assert awsmodels.committed() == awsmodels.generate(), (
        f"{awsmodels.DATA} is stale: run `make models`"
    )


def test_a_trimmed_model_is_closed_and_has_no_documentation() -> None:
    files = awsmodels.committed()
    for service in SERVICES:
        (rel,) = [r for r in files if r.startswith(f"{service}/")]
        model = json.loads(files[rel])
        assert set(model) >= {"version", "metadata", "operations", "shapes"}
        assert len(model["operations"]) == len(awsmodels.OPERATIONS[service])
        refs = set(awsmodels._shape_refs([model["operations"], model["shapes"]]))
        assert refs <= set(model["shapes"]), f"{service}: dangling {refs - set(model['shapes'])}"
        # clientContextParams keep theirs: botocore requires it there.
        assert '"documentation"' not in json.dumps([model["operations"], model["shapes"]])


def test_only_service_2_is_shadowed_paginators_and_rules_stay_botocores() -> None:
    session = boto3.Session(region_name="us-east-1")
    assert awsmodels.install(session._session)
    loader = session._session.get_component("data_loader")
    for service in SERVICES:
        version = loader.determine_latest_version(service, "service-2")
        _, path = loader.load_data_with_path(f"{service}/{version}/service-2")
        assert path.startswith(str(awsmodels.DATA))
        _, path = loader.load_data_with_path(f"{service}/{version}/endpoint-rule-set-1")
        assert loader.is_builtin_path(path)
    _, path = loader.load_data_with_path("endpoints")
    assert loader.is_builtin_path(path)


# -- against the AWS emulator ---------------------------------------------------------------


def operator_clients(emulator: AwsEmulator) -> AwsClients:
    session = boto3.Session(
        aws_access_key_id=PROVIDER_ACCOUNT,
        aws_secret_access_key="emulated",
        region_name=emulator.region,
    )
    return AwsClients(
        session=session,
        max_attempts=1,
        endpoint_urls=dict.fromkeys(SERVICES, emulator.endpoint_url),
    )


def test_trimmed_clients_serialize_and_parse_real_calls(aws_emulator: AwsEmulator) -> None:
    aws = operator_clients(aws_emulator)
    assert aws.trimmed_models
    for service in SERVICES:
        names = aws.client(service).meta.service_model.operation_names
        assert len(names) == len(awsmodels.OPERATIONS[service])
    # The emulator's own (test) clients keep botocore's full models.
    assert "RunInstances" in aws_emulator.client("ec2").meta.service_model.operation_names

    # sts (query protocol)
    assert aws.call("sts", "get_caller_identity")["Account"] == PROVIDER_ACCOUNT
    # ec2 (ec2 protocol): a nested write, its read back, a paginator from botocore's data
    vpc = aws_emulator.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = aws.call(
        "ec2",
        "create_security_group",
        GroupName="trimmed",
        Description="trimmed model",
        VpcId=vpc,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "k", "Value": "v"}]}
        ],
    )["GroupId"]
    aws.call(
        "ec2",
        "authorize_security_group_ingress",
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            }
        ],
    )
    (read,) = aws.call("ec2", "describe_security_groups", GroupIds=[group])["SecurityGroups"]
    assert read["IpPermissions"][0]["FromPort"] == 443
    assert read["Tags"] == [{"Key": "k", "Value": "v"}]
    pages = aws.ec2.get_paginator("describe_security_groups").paginate(GroupIds=[group])
    assert [g["GroupId"] for p in pages for g in p["SecurityGroups"]] == [group]
    # elbv2 (query protocol, XML): a paginator and a parsed list
    pages = aws.elbv2.get_paginator("describe_load_balancers").paginate()
    assert [lb for p in pages for lb in p["LoadBalancers"]] == []
    assert aws.call("elbv2", "describe_target_groups")["TargetGroups"] == []
    # acm (JSON protocol), with a modeled error parsed and classified
    assert aws.call("acm", "list_certificates")["CertificateSummaryList"] == []
    missing = f"arn:aws:acm:{aws.region}:{PROVIDER_ACCOUNT}:certificate/0000-missing"
    with pytest.raises(AwsError) as info:
        aws.call("acm", "describe_certificate", CertificateArn=missing)
    assert info.value.kind == "not_found"
    # route53 (REST-XML protocol, with its id customization on the trimmed input shapes)
    zone = aws_emulator.client("route53").create_hosted_zone(
        Name="trimmed.example", CallerReference="trimmed"
    )["HostedZone"]["Id"]
    assert aws.call("route53", "get_hosted_zone", Id=zone)["HostedZone"]["Name"] == (
        "trimmed.example."
    )
    aws.call(
        "route53",
        "change_resource_record_sets",
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": "_x.trimmed.example",
                        "Type": "TXT",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": '"proof"'}],
                    },
                }
            ]
        },
    )
    records = aws.call("route53", "list_resource_record_sets", HostedZoneId=zone)
    assert any(r["Type"] == "TXT" for r in records["ResourceRecordSets"])


# -- fallbacks --------------------------------------------------------------------------------


def test_models_of_another_botocore_are_not_used_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.delenv(awsmodels.FULL_MODELS_ENV, raising=False)
    monkeypatch.setattr(awsmodels, "_warned", False)
    (tmp_path / "BOTOCORE_VERSION").write_text("0.0.1\n")
    monkeypatch.setattr(awsmodels, "VERSION_FILE", tmp_path / "BOTOCORE_VERSION")
    with caplog.at_level(logging.WARNING, logger=awsmodels.__name__):
        first = AwsClients(region="us-east-1")
        second = AwsClients(region="us-east-1")
    assert not first.trimmed_models and not second.trimmed_models
    assert len(first.ec2.meta.service_model.operation_names) > 500
    (warning,) = caplog.records
    assert "0.0.1" in warning.getMessage() and botocore.__version__ in warning.getMessage()


def test_full_models_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(awsmodels.FULL_MODELS_ENV, "1")
    aws = AwsClients(region="us-east-1")
    assert not aws.trimmed_models
    assert str(awsmodels.DATA) not in aws.session._session.get_component("data_loader").search_paths
    assert len(aws.client("route53").meta.service_model.operation_names) > 50


def test_without_opt_out_the_operators_clients_are_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(awsmodels.FULL_MODELS_ENV, raising=False)
    aws = AwsClients(region="us-east-1")
    assert aws.trimmed_models
    names = aws.client("ec2").meta.service_model.operation_names
    assert sorted(botocore.xform_name(n) for n in names) == sorted(awsmodels.OPERATIONS["ec2"])
