"""No AWS credentials, private keys or CA contents in logs, Events or status.

Every operator started through this directory's ``operator_factory`` runs with a canary AWS
secret key and has its whole log, the Events and the statuses searched after the test (see
conftest). This test adds the paths most likely to leak: a probe that reads its CA bundle from a
ConfigMap (trusted: h2 ready) and from a Secret (a wrong CA: verification fails and says why),
AWS errors (throttling) and a stalled object.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import pytest
from reliability_helpers import (
    CONSUMER_NS,
    Fleet,
    condition,
    eventually,
    host,
    ple_spec,
    pls_spec,
)

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.aws.faults import FaultRule
from privatelink_operator.testing.background import BackgroundServer
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.tlsserver import LocalCA
from privatelink_operator.testing.world import World


@pytest.fixture
def local_ca() -> LocalCA:
    return LocalCA()


@pytest.fixture
def h2_server(local_ca: LocalCA) -> Iterator[BackgroundServer]:
    server = BackgroundServer(
        cert=local_ca.issue(host(1)), alpn=["h2", "http/1.1"], status=403
    ).start()
    try:
        yield server
    finally:
        server.stop()


def _pem_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_probe_ca_bundles_aws_errors_and_stalls_leak_no_secret_into_logs_events_or_status(
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    endpoints: Fleet,
    wildcard_certificate: str,
    wildcard_pems: tuple[bytes, bytes, bytes],
    local_ca: LocalCA,
    h2_server: BackgroundServer,
    operator_factory: Callable[..., OperatorProcess],
    secret_needles: list[str],
) -> None:
    wrong_ca = LocalCA(organization="someone else's CA")
    _, key_pem, _ = wildcard_pems
    secret_needles += _pem_lines(key_pem.decode())[:3]
    secret_needles += _pem_lines(local_ca.cert_pem)[1:4] + _pem_lines(wrong_ca.cert_pem)[1:4]
    secret_needles.append(base64.b64encode(wrong_ca.cert_pem.encode()).decode()[:40])
    consumer_kube = endpoints.kube
    consumer_kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "corp-ca", "namespace": CONSUMER_NS},
            "data": {"ca.crt": local_ca.cert_pem},
        }
    )
    consumer_kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "wrong-ca", "namespace": CONSUMER_NS},
            "data": {"ca.crt": base64.b64encode(wrong_ca.cert_pem.encode()).decode()},
        }
    )
    aws_emulator.faults.add(
        # An error botocore does not retry and the operator does (logged, and in status).
        FaultRule.error(
            "ec2",
            "DescribeVpcEndpoints",
            "RequestExpired",
            message="Request has expired.",
            times=1,
            account=CONSUMER_ACCOUNT,
        ),
        FaultRule.throttle("ec2", probability=0.3, seed=5, account=PROVIDER_ACCOUNT),
    )
    provider = operator_factory(
        services.kube, aws_emulator.env(PROVIDER_ACCOUNT), drift_period=3.0, name="provider"
    )
    resolve = ["--probe-resolve", f"{host(1)}:{h2_server.port}:127.0.0.1"]
    consumer = operator_factory(
        consumer_kube, aws_emulator.env(CONSUMER_ACCOUNT), *resolve, drift_period=3.0
    )
    services.apply("svc1", pls_spec(world, wildcard_certificate, 1))
    bad = pls_spec(world, wildcard_certificate, 2)
    bad["subnetIds"] = ["subnet-0123456789abcdef0"]
    services.apply("stalled", bad)
    eventually(
        lambda: services.not_ready() == ["stalled"],
        60,
        lambda: f"svc1 Ready; {provider.log()[-2000:]}",
    )
    service_name = (services.get("svc1") or {})["status"]["serviceName"]

    def probed(name: str, kind: str, ca: str) -> None:
        spec = ple_spec(world, service_name)
        spec["privateDnsEnabled"] = True
        spec["probe"] = {
            "enabled": True,
            "port": h2_server.port,
            "intervalSeconds": 10,
            "timeoutSeconds": 3,
            "caBundleRef": {"kind": kind, "name": ca, "key": "ca.crt"},
        }
        endpoints.apply(name, spec)

    probed("trusted", "ConfigMap", "corp-ca")
    probed("untrusted", "Secret", "wrong-ca")

    def h2(name: str) -> dict[str, str]:
        return condition(endpoints.get(name), "H2Ready")

    eventually(
        lambda: h2("trusted").get("status") == "True" and h2("untrusted").get("status") == "False",
        60,
        lambda: f"H2Ready: {h2('trusted')} / {h2('untrusted')}\n{consumer.log()[-2000:]}",
    )
    assert "certificate" in h2("untrusted")["message"].lower(), h2("untrusted")
    assert condition(services.get("stalled"), "Stalled")["status"] == "True"
    assert "AWS: describe_vpc_endpoints" in consumer.log()  # an error that outlived retries
    assert any(c.error_code == "RequestLimitExceeded" for c in aws_emulator.calls.all())
    # The conftest's operator_factory now searches all the output for the secrets.
