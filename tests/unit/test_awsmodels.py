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
from typing import Any

import boto3
import botocore
import botocore.config
import botocore.loaders
import botocore.regions
import botocore.session
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


def test_the_session_loads_our_models_and_endpoints_and_botocores_other_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(awsmodels.FULL_MODELS_ENV, raising=False)
    loaded: list[str] = []
    load_file = botocore.loaders.JSONFileLoader.load_file

    def recording(self: botocore.loaders.JSONFileLoader, file_path: str) -> Any:
        found = load_file(self, file_path)
        if found is not None:
            loaded.append(file_path)
        return found

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", recording)
    aws = AwsClients(region="eu-west-1", throttle="off")
    for service in SERVICES:
        assert aws.client(service).meta.endpoint_url
    ours = {Path(p).relative_to(awsmodels.DATA).as_posix() for p in loaded if _ours(p)}
    theirs = {Path(p).relative_to(BUILTIN).as_posix() for p in loaded if not _ours(p)}
    assert ours == {f.removesuffix(".json") for f in awsmodels.committed() if f.endswith(".json")}
    # Endpoint rule sets, partitions, retry and default configuration: botocore's own. Not
    # its endpoints: the operator's services never need them.
    assert theirs == {"partitions", "_retry", "sdk-default-configuration"} | {
        f"{s}/{v}/endpoint-rule-set-1"
        for s, v in (r.split("/")[:2] for r in ours if r.endswith("/service-2"))
    }
    resolver = aws.session._session._get_internal_component("endpoint_resolver")
    assert isinstance(resolver, awsmodels.TrimmedEndpointResolver)
    # As botocore's data, or botocore would hand the legacy endpoint to the rule sets.
    assert resolver.uses_builtin_data
    assert resolver._full is None


def _ours(path: str) -> bool:
    return path.startswith(str(awsmodels.DATA) + "/")


BUILTIN = Path(botocore.loaders.Loader.BUILTIN_DATA_PATH)


# -- endpoints --------------------------------------------------------------------------------


def botocore_endpoints() -> dict[str, Any]:
    """botocore's full ``endpoints`` data, a fresh copy (the legacy resolver writes into it)."""
    data: dict[str, Any] = awsmodels.builtin_loader().load_data("endpoints")
    return data


def trimmed_resolver() -> awsmodels.TrimmedEndpointResolver:
    """The legacy endpoint resolver of a session as :func:`awsmodels.install` sets it up."""
    session = botocore.session.Session()
    assert awsmodels.install(session)
    resolver = session._get_internal_component("endpoint_resolver")
    assert isinstance(resolver, awsmodels.TrimmedEndpointResolver)
    return resolver


def outcome(method: Any, *args: Any, **kwargs: Any) -> Any:
    """What ``method`` answers, or the error it raises (type and message)."""
    try:
        return method(*args, **kwargs)
    except Exception as exc:  # an error is an answer to compare here
        return type(exc).__name__, str(exc)


def test_the_endpoint_prefixes_are_the_models() -> None:
    files = awsmodels.committed()  # their metadata is botocore's, as it is
    for service in SERVICES:
        (rel,) = [r for r in files if r.startswith(f"{service}/")]
        prefix = json.loads(files[rel])["metadata"]["endpointPrefix"]
        assert prefix == awsmodels.ENDPOINT_PREFIXES[service]
    assert set(awsmodels.ENDPOINT_PREFIXES) == set(SERVICES)


def test_the_trimmed_endpoints_are_every_partition_whole_with_only_the_operators_services() -> None:
    full = botocore_endpoints()
    ours = json.loads(awsmodels.ENDPOINTS_FILE.read_text())
    assert list(ours) == list(full) and ours["version"] == full["version"]
    assert [p["partition"] for p in ours["partitions"]] == [
        p["partition"] for p in full["partitions"]
    ]
    kept = set(awsmodels.ENDPOINT_PREFIXES.values())
    for mine, theirs in zip(ours["partitions"], full["partitions"], strict=True):
        assert list(mine) == list(theirs)
        assert {k: v for k, v in mine.items() if k != "services"} == {
            k: v for k, v in theirs.items() if k != "services"
        }
        assert mine["services"] == {n: s for n, s in theirs["services"].items() if n in kept}
    # Every partition of this botocore has ec2, acm, elbv2, sts; not all have route53.
    assert all(
        {"acm", "ec2", "elasticloadbalancing", "sts"} <= set(p["services"])
        for p in ours["partitions"]
    )


VARIANTS = [(False, False), (True, False), (False, True), (True, True)]  # (dualstack, fips)


def test_the_legacy_resolver_answers_as_botocores_for_every_region_and_variant() -> None:
    """Every region and endpoint name botocore knows for the operator's services, in every
    partition, with and without FIPS and dual-stack: the same answer (or error) as botocore's
    resolver on its full data."""
    full = botocore.regions.EndpointResolver(botocore_endpoints(), uses_builtin_data=True)
    ours = trimmed_resolver()
    data = botocore_endpoints()
    partitions = [p["partition"] for p in data["partitions"]]
    names = {r for p in data["partitions"] for r in p["regions"]} | {
        name
        for p in data["partitions"]
        for service in awsmodels.ENDPOINT_PREFIXES.values()
        for name in p["services"].get(service, {}).get("endpoints", {})
    }
    # Regions botocore does not list yet (each partition's regex) and none at all.
    names |= {"us-east-9", "cn-west-9", "us-gov-south-9", "us-iso-west-9", "eusc-de-west-9"}
    names |= {"xx-moon-1", "fips-xx-moon-1"}
    assert {"us-iso-east-1", "us-isob-east-1", "eusc-de-east-1"} <= names
    compared = 0
    for service in awsmodels.ENDPOINT_PREFIXES.values():
        for name in sorted(names):
            for partition in [None, *partitions]:
                for dualstack, fips in VARIANTS:
                    args = (service, name, partition, dualstack, fips)
                    assert outcome(ours.construct_endpoint, *args) == outcome(
                        full.construct_endpoint, *args
                    ), args
                    compared += 1
        for partition in partitions:
            assert ours.get_service_endpoints_data(
                service, partition
            ) == full.get_service_endpoints_data(service, partition)
            for tags in [None, ["fips"], ["dualstack"], ["dualstack", "fips"]]:
                for non_regional in (False, True):
                    args2 = (service, partition, non_regional, tags)
                    assert ours.get_available_endpoints(*args2) == full.get_available_endpoints(
                        *args2
                    )
    assert compared > 10_000
    assert ours.get_available_partitions() == full.get_available_partitions()
    for name in sorted(names):
        assert outcome(ours.get_partition_for_region, name) == outcome(
            full.get_partition_for_region, name
        )
    for partition in partitions:
        for tags in [None, ["fips"], ["dualstack"], ["dualstack", "fips"]]:
            assert ours.get_partition_dns_suffix(partition, tags) == full.get_partition_dns_suffix(
                partition, tags
            )
    assert ours._full is None  # the operator's services never load botocore's full data


def test_other_services_resolve_on_botocores_full_data() -> None:
    """Clients the session's credential providers create (sso, sso-oidc, signin), or any other."""
    full = botocore.regions.EndpointResolver(botocore_endpoints(), uses_builtin_data=True)
    ours = trimmed_resolver()
    for service in ("portal.sso", "oidc", "sso", "signin", "iam", "s3", "elasticloadbalancing"):
        for region in ("us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"):
            for dualstack, fips in VARIANTS:
                args = (service, region, None, dualstack, fips)
                assert outcome(ours.construct_endpoint, *args) == outcome(
                    full.construct_endpoint, *args
                ), args
        assert ours.get_available_endpoints(service) == full.get_available_endpoints(service)
        assert ours.get_service_endpoints_data(service) == full.get_service_endpoints_data(service)
    assert ours._full is not None


class Sent(Exception):
    """Raised instead of sending a request."""


ONE_CALL = {
    "acm": "list_certificates",
    "ec2": "describe_subnets",
    "elbv2": "describe_load_balancers",
    "route53": "list_hosted_zones",
    "sts": "get_caller_identity",
}


def resolved(loader: Any, region: str, settings: dict[str, Any]) -> dict[str, Any]:
    """For each service, as the operator's client for ``region`` (with ``settings``: botocore
    config variables) resolves it: endpoint and region, then the URL and signing scope of a
    call; or the error it raises."""
    session = botocore.session.Session()
    session.register_component("data_loader", loader)
    for name, value in settings.items():
        session.set_config_variable(name, value)
    aws = AwsClients(
        session=boto3.Session(
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            region_name=region,
            botocore_session=session,
        ),
        throttle="off",
        max_attempts=1,
    )
    out: dict[str, Any] = {}
    for service in SERVICES:
        sent: list[Any] = []

        def stop(request: Any, sent: list[Any] = sent, **_: Any) -> None:
            sent.append(request)
            raise Sent

        try:
            client = aws.client(service)
            client.meta.events.register("before-send", stop)
            getattr(client, ONE_CALL[service])()
        except Exception as exc:  # an error is an answer to compare here
            if not sent:
                out[service] = (type(exc).__name__, str(exc))
                continue
        (request,) = sent
        auth = request.headers["Authorization"].decode()
        scope = re.search(r"Credential=[^/]+/\d+/([^,]+),", auth)
        assert scope, auth
        out[service] = (
            client.meta.endpoint_url,
            client.meta.region_name,
            request.url,
            scope.group(1),
        )
    return out


def test_the_operators_clients_resolve_endpoints_as_with_botocores_full_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The brief's regions, one of each other partition, a region botocore does not know yet,
    each with and without FIPS and dual-stack (and STS's legacy global endpoint): the trimmed
    clients resolve what the full ones (botocore's models and endpoints) do."""
    full_loader = botocore.loaders.create_loader()
    trimmed_loader = botocore.loaders.create_loader()
    data = botocore_endpoints()
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
    regions += [p["regions"] and sorted(p["regions"])[0] for p in data["partitions"][3:]]
    regions += ["us-east-9"]
    assert "us-iso-east-1" in regions and len(regions) >= 11
    settings_grid: list[dict[str, Any]] = [
        {"use_dualstack_endpoint": dualstack, "use_fips_endpoint": fips}
        for dualstack, fips in VARIANTS
    ] + [{"sts_regional_endpoints": "legacy"}]
    fips_urls = requests = errors = 0
    for region in regions:
        for settings in settings_grid:
            monkeypatch.setenv(awsmodels.FULL_MODELS_ENV, "1")
            full = resolved(full_loader, region, settings)
            monkeypatch.delenv(awsmodels.FULL_MODELS_ENV)
            trimmed = resolved(trimmed_loader, region, settings)
            assert trimmed == full, (region, settings)
            fips_urls += sum("fips" in str(answer) for answer in trimmed.values())
            requests += sum(len(answer) == 4 for answer in trimmed.values())
            errors += sum(len(answer) == 2 for answer in trimmed.values())
    assert fips_urls > 20  # the settings took effect
    # Most resolve; dual-stack in the ISO partitions (and FIPS in some) is an error, the same.
    assert requests > 200 and errors > 0
    assert str(awsmodels.DATA) in trimmed_loader.search_paths
    assert str(awsmodels.DATA) not in full_loader.search_paths


def test_botocore_would_take_our_endpoints_file_for_a_users_without_the_resolver() -> None:
    """Why :func:`awsmodels.install` replaces the session's endpoint resolver: botocore's own,
    on an ``endpoints`` file outside its package, hands the legacy endpoint to the rule sets."""
    settings = {"use_dualstack_endpoint": True}
    loader = botocore.loaders.create_loader()
    ours = resolved(loader, "us-east-1", settings)["route53"]
    assert ours[2] == "https://route53.global.api.aws/2013-04-01/hostedzone"  # the rule set's

    def botocores_resolver(botocore_session: Any) -> bool:
        assert install(botocore_session)
        data, path = loader.load_data_with_path("endpoints")
        assert path == str(awsmodels.ENDPOINTS_FILE.with_suffix(""))
        botocore_session._register_internal_component(
            "endpoint_resolver",
            botocore.regions.EndpointResolver(data, uses_builtin_data=loader.is_builtin_path(path)),
        )
        return True

    install = awsmodels.install
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(awsmodels, "install", botocores_resolver)
        theirs = resolved(loader, "us-east-1", settings)["route53"]
    assert theirs[2] == "https://route53.aws-global.api.aws/2013-04-01/hostedzone"  # legacy


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
    (warning,) = [r for r in caplog.records if r.name == awsmodels.__name__]
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


def test_answers_keep_only_the_fields_the_operator_reads_and_requests_every_field() -> None:
    files = awsmodels.committed()
    models = {rel.split("/")[0]: json.loads(text) for rel, text in files.items() if "/" in rel}
    read = awsmodels.used_names()
    assert {"DNSName", "AlpnPolicy", "PrivateDnsNameConfiguration", "VpcEndpointState"} <= read
    elbv2 = models["elbv2"]["shapes"]
    full = botocore.loaders.Loader().load_service_model("elbv2", "service-2")["shapes"]
    # Only in answers: trimmed to what the code names ("CreatedTime" it never reads).
    assert "CreatedTime" in full["LoadBalancer"]["members"]
    assert set(elbv2["LoadBalancer"]["members"]) == set(full["LoadBalancer"]["members"]) & read
    assert "DNSName" in elbv2["LoadBalancer"]["members"]
    # Also in requests (CreateListener's actions, AddTags' tags): whole.
    for shape in ("Action", "Tag", "Certificate"):
        assert elbv2[shape]["members"] == {
            m: {k: v for k, v in ref.items() if k != "documentation"}
            for m, ref in full[shape]["members"].items()
        }, shape


def test_the_fields_the_operator_reads_come_from_its_code_not_from_the_emulators(
    tmp_path: Path,
) -> None:
    (tmp_path / "testing").mkdir()
    (tmp_path / "awsmodels").mkdir()
    code = 'dns = lb["DNSName"]\nx = f"{a}.LoadBalancers[0].State"\n'
    (tmp_path / "provider.py").write_text(code)
    (tmp_path / "testing" / "emulator.py").write_text('out = {"CanonicalHostedZoneId": "Z"}\n')
    (tmp_path / "awsmodels" / "gen.py").write_text('k = "CreatedTime"\n')

    read = awsmodels.used_names(tmp_path)

    assert {"DNSName", "LoadBalancers", "State"} <= read
    assert "lb" not in read  # a name, not a string
    assert "CanonicalHostedZoneId" not in read
    assert "CreatedTime" not in read
