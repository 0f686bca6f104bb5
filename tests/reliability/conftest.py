"""Fixtures of the reliability tests; the helpers live in ``reliability_helpers``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from reliability_helpers import (
    CONSUMER_NS,
    DOMAIN,
    PLE_KIND,
    PLS_KIND,
    PROVIDER_NS,
    Fleet,
    Passes,
)

from privatelink_operator.aws import SERVICES, AwsClients
from privatelink_operator.ownership import Owner
from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World

# -- the soak marker ---------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long variants (``@pytest.mark.soak``) run only when asked: ``-m soak`` (``make soak``)."""
    if "soak" in (config.getoption("markexpr", "") or ""):
        return
    # Deselected, not skipped: `make test` does not run them at all, `make soak` does.
    soak = [item for item in items if "soak" in item.keywords]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if "soak" not in item.keywords]


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wildcard_pems() -> tuple[bytes, bytes, bytes]:
    """(leaf, key, CA) PEMs of a certificate for *.vpce.example.com."""
    import trustme

    ca = trustme.CA(organization_name="privatelink-operator reliability tests")
    leaf = ca.issue_cert(f"*.{DOMAIN}", common_name=f"*.{DOMAIN}")
    return leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes(), ca.cert_pem.bytes()


@pytest.fixture
def wildcard_certificate(world: World, wildcard_pems: tuple[bytes, bytes, bytes]) -> str:
    leaf, key, chain = wildcard_pems
    arn: str = world.client("acm").import_certificate(
        Certificate=leaf, PrivateKey=key, CertificateChain=chain
    )["CertificateArn"]
    return arn


@pytest.fixture
def provider_cluster(cluster_factory: Callable[..., KubeEmulator]) -> KubeEmulator:
    return cluster_factory("provider", namespaces=(PROVIDER_NS,))


@pytest.fixture
def consumer_cluster(cluster_factory: Callable[..., KubeEmulator]) -> KubeEmulator:
    return cluster_factory("consumer", namespaces=(CONSUMER_NS,))


@pytest.fixture
def services(provider_cluster: KubeEmulator) -> Iterator[Fleet]:
    yield Fleet(provider_cluster, PLS_KIND, PROVIDER_NS)


@pytest.fixture
def endpoints(consumer_cluster: KubeEmulator) -> Iterator[Fleet]:
    yield Fleet(consumer_cluster, PLE_KIND, CONSUMER_NS)


@pytest.fixture
def passes(aws_emulator: AwsEmulator) -> Passes:
    session = boto3.Session(
        aws_access_key_id=PROVIDER_ACCOUNT,
        aws_secret_access_key="emulated",
        region_name=aws_emulator.region,
    )
    aws = AwsClients(
        session=session,
        max_attempts=2,
        endpoint_urls=dict.fromkeys(SERVICES, aws_emulator.endpoint_url),
    )
    owner = Owner("default", PLS_KIND, PROVIDER_NS, "svc", "7d0c1e2f-0000-4000-8000-00000000beef")
    return Passes(aws, owner)


# -- no secrets in any output ------------------------------------------------------------------

# The operators of these tests run with this AWS secret key (the emulator accepts any): it, a
# private key or any PEM block showing up in their logs, Events or status is a leak.
SECRET_CANARY = "ploCanarySecret0123456789abcdefGHIJKLMN"
FORBIDDEN = (SECRET_CANARY, "PRIVATE KEY", "-----BEGIN", "MII")


def leaks(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [needle for needle in (*FORBIDDEN, *extra) if needle in text]


@pytest.fixture
def secret_needles() -> list[str]:
    """Tests add the secrets they hand out (key and CA PEM lines) to look for."""
    return []


@pytest.fixture
def operator_factory(
    operator_factory: Callable[..., OperatorProcess], secret_needles: list[str]
) -> Iterator[Callable[..., OperatorProcess]]:
    """The root ``operator_factory``, with the canary secret key; after the test, every
    operator's whole log, every Event and every object's status are searched for secrets."""
    started: list[tuple[OperatorProcess, KubeEmulator]] = []

    def make(
        cluster: KubeEmulator, aws_env: dict[str, str], *args: str, **kwargs: Any
    ) -> OperatorProcess:
        env = {**aws_env, "AWS_SECRET_ACCESS_KEY": SECRET_CANARY}
        process = operator_factory(cluster, env, *args, **kwargs)
        started.append((process, cluster))
        return process

    yield make
    extra = tuple(secret_needles)
    found: dict[str, list[str]] = {}
    for process, cluster in started:
        log = process.log()
        assert log, "an operator that logged nothing cannot be checked"
        if leaks(log, extra):
            found[f"{process.name} log"] = leaks(log, extra)
        events = json.dumps(cluster.list("v1", "Event"))
        if leaks(events, extra):
            found[f"{cluster.name} Events"] = leaks(events, extra)
        for kind in (PLS_KIND, PLE_KIND):
            statuses = json.dumps(
                [o.get("status") for o in cluster.list("privatelink.operator.dev/v1alpha1", kind)]
            )
            if leaks(statuses, extra):
                found[f"{cluster.name} {kind} status"] = leaks(statuses, extra)
    assert found == {}, f"secrets in the output: {found}"
