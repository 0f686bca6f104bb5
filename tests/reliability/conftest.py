"""Fixtures of the reliability tests; the helpers live in ``reliability_helpers``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
from privatelink_operator.testing.world import World

# -- the soak marker ---------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long variants (``@pytest.mark.soak``) run only when asked: ``-m soak`` (``make soak``)."""
    if "soak" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="a soak test: run with `make soak` (pytest -m soak)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


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
