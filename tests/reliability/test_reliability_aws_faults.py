"""AWS faults: throttling or 5xx on 30% of the calls of every service, Route 53's
PriorRequestNotComplete, and eventual consistency (NotFound right after a create).

N PrivateLinkServices (provider cluster) and N PrivateLinkEndpoints (consumer cluster, one per
service) converge to Ready with exactly one of each AWS resource per object, nothing tagged that
no object explains, and no retry storm: the calls made are within what the retry policy
(botocore, at most 6 attempts per call) implies for the injected fault rate.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest
from reliability_helpers import (
    PLE_ROLES,
    PLS_ROLES,
    Fleet,
    assert_one_of_each,
    env_int,
    ple_spec,
    pls_spec,
    scan,
    txt_challenges,
)

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.aws.faults import FaultRule
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World

N = env_int("RELIABILITY_OBJECTS", 3)  # the default run (CI budget); `make soak`: 20
SOAK_N = env_int("RELIABILITY_OBJECTS", 20)
RATE = 0.3
SERVICES = ("ec2", "elbv2", "route53", "acm", "sts")
MAX_ATTEMPTS = 6  # aws.AwsClients' retry policy


def fault_rules(kind: str) -> list[FaultRule]:
    rules: list[FaultRule] = [
        # Route 53 refuses concurrent changes to one zone; a describe right after a create
        # does not see the new resource yet (eventual consistency).
        FaultRule.prior_request_not_complete(times=5),
        FaultRule.error(
            "ec2",
            "DescribeVpcEndpointServiceConfigurations",
            "InvalidVpcEndpointServiceId.NotFound",
            times=3,
        ),
        FaultRule.error("ec2", "DescribeVpcEndpoints", "InvalidVpcEndpointId.NotFound", times=3),
        FaultRule.error("elbv2", "DescribeListeners", "ListenerNotFound", times=3),
    ]
    for seed, service in enumerate(SERVICES):
        if kind == "throttling":
            rules.append(FaultRule.throttle(service, probability=RATE, seed=seed))
        else:
            status = 500 if seed % 2 else 503
            rules.append(
                FaultRule.server_error(service, status=status, probability=RATE, seed=seed)
            )
    return rules


@pytest.mark.parametrize("kind", ["throttling", "server-error"])
def test_services_and_endpoints_converge_under_faults_with_one_of_each_and_no_storm(
    kind: str,
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    endpoints: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    converge_under_faults(
        kind, N, world, aws_emulator, services, endpoints, wildcard_certificate, operator_factory
    )


@pytest.mark.soak
@pytest.mark.parametrize("kind", ["throttling", "server-error"])
def test_twenty_services_and_twenty_endpoints_converge_under_faults(
    kind: str,
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    endpoints: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    converge_under_faults(
        kind,
        SOAK_N,
        world,
        aws_emulator,
        services,
        endpoints,
        wildcard_certificate,
        operator_factory,
    )


def converge_under_faults(
    kind: str,
    N: int,
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    endpoints: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    mark = aws_emulator.calls.mark()
    aws_emulator.faults.add(*fault_rules(kind))
    provider = operator_factory(
        services.kube, aws_emulator.env(PROVIDER_ACCOUNT), drift_period=3.0, name="provider"
    )
    consumer = operator_factory(
        endpoints.kube, aws_emulator.env(CONSUMER_ACCOUNT), drift_period=3.0, name="consumer"
    )
    for i in range(N):
        services.apply(f"svc{i}", pls_spec(world, wildcard_certificate, i))

    # A generous bound, not a target: under these faults 3 services take 45-65 s here (five
    # PriorRequestNotComplete in a row hold every TXT write back ~10 s; botocore backs off).
    services_seconds = services.wait_ready(timeout=150 + 5 * N, log=provider.log)
    for i in range(N):
        service_name = (services.get(f"svc{i}") or {})["status"]["serviceName"]
        endpoints.apply(f"ep{i}", ple_spec(world, service_name))
    endpoints_seconds = endpoints.wait_ready(timeout=90 + 4 * N, log=consumer.log)

    calls = aws_emulator.calls.all(since=mark)
    faulted = [c for c in calls if c.fault is not None]
    answered = len(calls) - len(faulted)
    by_rule: Counter[str] = Counter(c.error_code or "" for c in faulted)
    share = len(faulted) / len(calls)
    print(
        f"\n{kind}: {N}+{N} objects Ready in {services_seconds:.1f}+{endpoints_seconds:.1f}s;"
        f" {len(calls)} AWS calls, {len(faulted)} faulted ({share:.0%}), {dict(by_rule)}"
    )
    # The faults really happened, at about the injected rate...
    assert 0.2 <= share <= 0.4, share
    assert by_rule["PriorRequestNotComplete"] == 5
    # ... and the calls stay within what retries of that rate imply: each logical call is
    # answered after 1/(1-p) attempts on average (at most MAX_ATTEMPTS), never a storm.
    assert len(calls) <= answered * MAX_ATTEMPTS
    assert len(calls) <= answered / (1 - RATE) * 1.25, (len(calls), answered)

    # What AWS holds, seen by an auditor (the faults off: the scan is not under test).
    aws_emulator.faults.clear()
    found = scan(aws_emulator)
    assert_one_of_each(found, services, PLS_ROLES)
    assert_one_of_each(found, endpoints, PLE_ROLES)
    explained = set(services.uids()) | set(endpoints.uids())
    assert found.unexplained(explained) == {}
    assert sorted(txt_challenges(world)) == sorted(set(txt_challenges(world)))
    assert len(txt_challenges(world)) == N

    # Settled: a quiet period (over two drift periods) makes no write call, even under faults.
    aws_emulator.faults.add(*fault_rules(kind)[4:])
    quiet = aws_emulator.calls.mark()
    time.sleep(7)
    writes = aws_emulator.calls.writes(since=quiet)
    assert writes == [], Counter(c.action for c in writes)
    assert provider.alive and consumer.alive
