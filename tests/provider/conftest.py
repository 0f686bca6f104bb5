"""Fixtures of the provider tests; the helpers live in ``provider_helpers``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from provider_helpers import DNS_NAME, KIND, NAME, NAMESPACE, Cluster, Pass

from privatelink_operator.aws import SERVICES, AwsClients
from privatelink_operator.ownership import Owner
from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.world import World


@pytest.fixture(scope="session")
def certificate_pems() -> tuple[bytes, bytes, bytes]:
    """(leaf, key, CA) PEMs of a certificate for DNS_NAME, made once."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert(DNS_NAME)
    return (
        leaf.cert_chain_pems[0].bytes(),
        leaf.private_key_pem.bytes(),
        ca.cert_pem.bytes(),
    )


@pytest.fixture
def imported_certificate(world: World, certificate_pems: tuple[bytes, bytes, bytes]) -> str:
    """A certificate the user brings: imported into ACM (ISSUED), not owned by the operator."""
    leaf, key, chain = certificate_pems
    arn: str = world.client("acm").import_certificate(
        Certificate=leaf, PrivateKey=key, CertificateChain=chain
    )["CertificateArn"]
    return arn


@pytest.fixture
def wildcard_certificate(world: World) -> str:
    """A certificate for *.vpce.example.com, imported into ACM (the user's)."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("*.vpce.example.com")
    arn: str = world.client("acm").import_certificate(
        Certificate=leaf.cert_chain_pems[0].bytes(),
        PrivateKey=leaf.private_key_pem.bytes(),
        CertificateChain=ca.cert_pem.bytes(),
    )["CertificateArn"]
    return arn


@pytest.fixture
def provider_aws(aws_emulator: AwsEmulator) -> AwsClients:
    """The operator's AwsClients, acting as the provider account against the emulator."""
    session = boto3.Session(
        aws_access_key_id=PROVIDER_ACCOUNT,
        aws_secret_access_key="emulated",
        region_name=aws_emulator.region,
    )
    return AwsClients(
        session=session,
        max_attempts=2,
        endpoint_urls=dict.fromkeys(SERVICES, aws_emulator.endpoint_url),
    )


@pytest.fixture
def owner() -> Owner:
    return Owner("default", KIND, NAMESPACE, NAME, "0b5c3f0e-1111-4222-8333-444455556666")


@pytest.fixture
def passes(provider_aws: AwsClients, aws_emulator: AwsEmulator, owner: Owner) -> Pass:
    return Pass(provider_aws, aws_emulator, owner)


@pytest.fixture
def cluster(cluster_factory: Callable[..., KubeEmulator]) -> Iterator[Cluster]:
    yield Cluster(cluster_factory("provider", namespaces=(NAMESPACE,)))
