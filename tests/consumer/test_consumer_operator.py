"""PrivateLinkEndpoint end to end: two AWS accounts, two clusters, two real operator processes.

One provider set-up serves the whole module (the AWS emulator is reset once at its start): the
provider cluster offers four PrivateLinkServices, each with its own private DNS name and one
imported certificate that covers them all:

- ``orders``: auto-accepts the consumer account (the happy path);
- ``manual``: acceptance required, nothing auto-accepted (connections wait for the provider);
- ``unverified``: ``dns.mode: Manual`` with no TXT record published (the name stays unverified),
  no acceptance required;
- ``revoked``: auto-accepts the consumer until a test removes it from ``allowedPrincipals``.

The consumer operator probes over HTTP/2 servers on loopback: ``--probe-resolve`` sends every
service name to 127.0.0.1 on the port of an h2 server or of an http/1.1-only server. Each test
makes its own PrivateLinkEndpoint and deletes it at its end; what a test asserts about AWS is
about the resources tagged with its object's uid.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from privatelink_operator import crdgen
from privatelink_operator.ownership import ROLE_SECURITY_GROUP, TAG_ROLE, TAG_UID, tag_dict
from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.background import BackgroundServer
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.tlsserver import PemCert
from privatelink_operator.testing.world import World, build_world

API_VERSION = "privatelink.operator.dev/v1alpha1"
PLS_KIND = "PrivateLinkService"
PLE_KIND = "PrivateLinkEndpoint"
PROVIDER_NS = "payments"
CONSUMER_NS = "checkout"
DOMAIN = "vpce.example.com"
SERVICES = ("orders", "manual", "unverified", "revoked")
CONSUMER_ROOT = f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"
DRIFT = 2.0


def host(service: str) -> str:
    return f"{service}.{DOMAIN}"


def condition(obj: Mapping[str, Any] | None, type_: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def eventually(check: Callable[[], Any], timeout: float, what: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what()}")
        time.sleep(0.2)


# -- the module's world -------------------------------------------------------------------------


@dataclass
class Setup:
    emulator: AwsEmulator
    world: World
    provider: KubeEmulator
    consumer: KubeEmulator
    provider_operator: OperatorProcess
    consumer_operator: OperatorProcess
    h2_port: int
    http11_port: int
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # PLS name -> status

    def pls(self, name: str) -> dict[str, Any]:
        return self.provider.get(API_VERSION, PLS_KIND, name, namespace=PROVIDER_NS)

    def consumer_ec2(self) -> Any:
        return self.emulator.client("ec2", CONSUMER_ACCOUNT)

    def provider_ec2(self) -> Any:
        return self.emulator.client("ec2", PROVIDER_ACCOUNT)


def _certificate(hosts: list[str]) -> tuple[PemCert, bytes, bytes, bytes]:
    """A server certificate for every host: (for the servers, leaf, key, CA) PEMs."""
    import trustme

    ca = trustme.CA(organization_name="privatelink-operator consumer tests")
    leaf = ca.issue_cert(*hosts, common_name=hosts[0])
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    pem = PemCert(chain_pem=chain, key_pem=leaf.private_key_pem.bytes())
    return pem, leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes(), ca.cert_pem.bytes()


def _pls_spec(world: World, name: str, certificate_arn: str) -> dict[str, Any]:
    principals = [CONSUMER_ROOT]
    # The unverified service needs no acceptance: while its name waits for the TXT record the
    # provider operator backs off for a minute and accepts nothing (see the module's report).
    spec: dict[str, Any] = {
        "privateDnsName": host(name),
        "subnetIds": list(world.provider.subnet_ids),
        "listener": {"certificateArn": certificate_arn, "alpnPolicy": "HTTP2Preferred"},
        "backend": {"protocol": "TLS", "port": 8443, "targets": [{"id": "10.0.1.10"}]},
        "endpointService": {
            "acceptanceRequired": name != "unverified",
            "allowedPrincipals": principals,
            "autoAcceptPrincipals": [] if name in ("manual", "unverified") else principals,
        },
        "dns": {"mode": "Manual" if name == "unverified" else "Route53"},
    }
    return spec


@pytest.fixture(scope="module")
def setup(aws_emulator_session: AwsEmulator) -> Iterator[Setup]:
    emulator = aws_emulator_session
    emulator.reset()
    world = build_world(emulator)
    server_cert, leaf, key, ca_pem = _certificate([host(s) for s in SERVICES])
    certificate_arn = emulator.client("acm", PROVIDER_ACCOUNT).import_certificate(
        Certificate=leaf, PrivateKey=key, CertificateChain=ca_pem
    )["CertificateArn"]
    with contextlib.ExitStack() as stack:
        h2 = stack.enter_context(
            BackgroundServer(cert=server_cert, alpn=["h2", "http/1.1"], status=403)
        )
        http11 = stack.enter_context(BackgroundServer(cert=server_cert, alpn=["http/1.1"]))
        crds = crdgen.all_crds()
        provider = stack.enter_context(KubeEmulator(name="provider", crds=crds))
        consumer = stack.enter_context(KubeEmulator(name="consumer", crds=crds))
        provider.create_namespace(PROVIDER_NS)
        consumer.create_namespace(CONSUMER_NS)
        consumer.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "corp-ca", "namespace": CONSUMER_NS},
                "data": {"ca.crt": ca_pem.decode()},
            }
        )
        resolve: list[str] = []
        for service in SERVICES:
            for port in (h2.port, http11.port):
                resolve += ["--probe-resolve", f"{host(service)}:{port}:127.0.0.1"]
        provider_operator = OperatorProcess(
            provider.kubeconfig_path,
            emulator.env(PROVIDER_ACCOUNT),
            drift_period=DRIFT,
            name="provider",
        )
        consumer_operator = OperatorProcess(
            consumer.kubeconfig_path,
            emulator.env(CONSUMER_ACCOUNT),
            resolve,
            drift_period=DRIFT,
            name="consumer",
        )
        stack.callback(consumer_operator.cleanup)
        stack.callback(provider_operator.cleanup)
        provider_operator.start()
        consumer_operator.start()
        for service in SERVICES:
            provider.create(
                {
                    "apiVersion": API_VERSION,
                    "kind": PLS_KIND,
                    "metadata": {"name": service, "namespace": PROVIDER_NS},
                    "spec": _pls_spec(world, service, certificate_arn),
                }
            )
        ready = Setup(
            emulator,
            world,
            provider,
            consumer,
            provider_operator,
            consumer_operator,
            h2.port,
            http11.port,
        )

        def offered() -> bool:
            for service in SERVICES:
                pls = ready.pls(service)
                usable = condition(pls, "Ready").get("status") == "True" or (
                    service == "unverified" and (pls.get("status") or {}).get("serviceName")
                )
                if not usable:
                    return False
                ready.services[service] = dict(pls["status"])
            return True

        eventually(
            offered,
            60,
            lambda: (
                "the provider's services; "
                + "; ".join(f"{s}: {condition(ready.pls(s), 'Ready')}" for s in SERVICES)
                + "\n"
                + provider_operator.log()[-3000:]
            ),
        )
        yield ready


# -- one test's endpoints -----------------------------------------------------------------------


@dataclass
class Endpoints:
    """The PrivateLinkEndpoints one test makes in the consumer cluster (deleted at its end)."""

    setup: Setup
    names: list[str] = field(default_factory=list)

    def create(self, name: str, **spec: Any) -> dict[str, Any]:
        probe = {
            "port": self.setup.h2_port,
            "path": "/healthz",
            "intervalSeconds": 5,
            "timeoutSeconds": 3,
            "caBundleRef": {"name": "corp-ca"},
        }
        probe.update(spec.pop("probe", {}))
        body = {
            "apiVersion": API_VERSION,
            "kind": PLE_KIND,
            "metadata": {"name": name, "namespace": CONSUMER_NS},
            "spec": {
                "vpcId": self.setup.world.consumer.vpc_id,
                "subnetIds": list(self.setup.world.consumer.subnet_ids),
                "probe": {k: v for k, v in probe.items() if v is not None},
                **spec,
            },
        }
        self.names.append(name)
        return self.setup.consumer.create(body)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.setup.consumer.get_or_none(API_VERSION, PLE_KIND, name, namespace=CONSUMER_NS)

    def status(self, name: str) -> dict[str, Any]:
        return dict((self.get(name) or {}).get("status") or {})

    def patch_spec(self, name: str, change: Mapping[str, Any]) -> None:
        self.setup.consumer.patch(
            API_VERSION, PLE_KIND, name, {"spec": dict(change)}, namespace=CONSUMER_NS
        )

    def delete(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.setup.consumer.delete(API_VERSION, PLE_KIND, name, namespace=CONSUMER_NS)

    def _describe(self, name: str) -> str:
        return (
            f"status of {name}: {self.status(name)}\nconsumer operator log:\n"
            + self.setup.consumer_operator.log()[-3000:]
            + "\nprovider operator log:\n"
            + self.setup.provider_operator.log()[-1500:]
        )

    def wait(
        self,
        name: str,
        type_: str,
        status: str,
        reason: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """The object once its condition ``type_`` has ``status`` (and ``reason``)."""

        def matches() -> dict[str, Any] | None:
            obj = self.get(name)
            cond = condition(obj, type_)
            if cond.get("status") == status and reason in (None, cond.get("reason")):
                return obj
            return None

        found: dict[str, Any] = eventually(
            matches, timeout, lambda: f"{type_}={status} ({reason}); " + self._describe(name)
        )
        return found

    def wait_ready(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        obj = self.wait(name, "Ready", "True", timeout=timeout)
        generation = obj["metadata"].get("generation")

        def observed() -> dict[str, Any] | None:
            obj = self.get(name)
            if obj and obj["status"].get("observedGeneration") == generation:
                return obj
            return None

        found: dict[str, Any] = eventually(
            observed,
            10,
            lambda: "observedGeneration; " + self._describe(name),
        )
        return found

    def wait_gone(self, name: str, timeout: float = 30.0) -> None:
        eventually(lambda: self.get(name) is None, timeout, lambda: f"{name} to be deleted")

    def uid(self, name: str) -> str:
        obj = self.get(name)
        assert obj is not None, f"{name} does not exist"
        return str(obj["metadata"]["uid"])

    def in_aws(self, uid: str) -> list[dict[str, Any]]:
        """Every VPC endpoint of the consumer account that carries ``uid``'s ownership tag."""
        answer = self.setup.consumer_ec2().describe_vpc_endpoints(
            Filters=[{"Name": f"tag:{TAG_UID}", "Values": [uid]}]
        )
        found: list[dict[str, Any]] = answer["VpcEndpoints"]
        return found

    def groups_in_aws(self, uid: str) -> list[dict[str, Any]]:
        answer = self.setup.consumer_ec2().describe_security_groups(
            Filters=[{"Name": f"tag:{TAG_UID}", "Values": [uid]}]
        )
        found: list[dict[str, Any]] = answer["SecurityGroups"]
        return found


@pytest.fixture
def endpoints(setup: Setup) -> Iterator[Endpoints]:
    made = Endpoints(setup)
    yield made
    for name in made.names:
        made.delete(name)
    setup.emulator.faults.clear()


def ingress_rules(group: Mapping[str, Any]) -> set[tuple[str, int, int, str]]:
    rules = set()
    for perm in group.get("IpPermissions", []):
        cidrs = [r["CidrIp"] for r in perm.get("IpRanges", [])]
        cidrs += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
        for cidr in cidrs:
            rules.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), cidr))
    return rules


# -- point 1: connect, wait for acceptance, get rejected -----------------------------------------


def test_an_endpoint_found_by_private_dns_name_becomes_ready_over_h2_once_auto_accepted(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("by-dns", privateDnsName=host("orders"))

    obj = endpoints.wait_ready("by-dns")

    status = obj["status"]
    assert status["h2"]["alpn"] == "h2"
    assert status["h2"]["httpVersion"] == "HTTP/2"
    assert status["h2"]["statusCode"] == 403  # any status over h2 is ready
    assert status["state"] == "available"
    assert status["serviceName"] == setup.services["orders"]["serviceName"]
    assert condition(obj, "H2Ready")["status"] == "True"
    assert condition(obj, "EndpointAvailable")["status"] == "True"
    assert condition(obj, "Stalled")["status"] == "False"
    [vpce] = endpoints.in_aws(endpoints.uid("by-dns"))
    assert vpce["VpcEndpointId"] == status["endpointId"]
    assert vpce["PrivateDnsEnabled"] is True
    assert vpce["VpcId"] == setup.world.consumer.vpc_id
    connections = setup.provider_ec2().describe_vpc_endpoint_connections()
    states = {
        c["VpcEndpointId"]: c["VpcEndpointState"] for c in connections["VpcEndpointConnections"]
    }
    assert states[status["endpointId"]] == "available"


def test_without_auto_accept_the_endpoint_stays_pending_acceptance_and_is_not_ready(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("unaccepted", privateDnsName=host("manual"))

    obj = endpoints.wait("unaccepted", "Ready", "False", "PendingAcceptance")
    assert obj["status"]["state"] == "pendingAcceptance"
    assert condition(obj, "EndpointAvailable")["reason"] == "PendingAcceptance"
    assert "accept" in condition(obj, "Ready")["message"]
    assert condition(obj, "Stalled")["status"] == "False"
    assert condition(obj, "Reconciling")["status"] == "True"
    # It stays so over several passes of both operators, and the probe never claims h2.
    deadline = time.monotonic() + 3 * DRIFT
    while time.monotonic() < deadline:
        obj = endpoints.get("unaccepted") or {}
        assert condition(obj, "Ready")["status"] == "False", obj.get("status")
        assert obj["status"]["state"] == "pendingAcceptance"
        assert condition(obj, "H2Ready")["status"] != "True"
        time.sleep(0.5)


def test_a_pending_endpoint_accepted_by_hand_becomes_ready_without_waiting_a_long_resync(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("accepted-later", privateDnsName=host("manual"))
    obj = endpoints.wait("accepted-later", "Ready", "False", "PendingAcceptance")

    setup.provider_ec2().accept_vpc_endpoint_connections(
        ServiceId=setup.services["manual"]["serviceId"],
        VpcEndpointIds=[obj["status"]["endpointId"]],
    )

    # Looked at again within a drift period, not after a long acceptance poll or resync.
    accepted = endpoints.wait_ready("accepted-later", timeout=3 * DRIFT + 3)
    assert accepted["status"]["state"] == "available"
    assert accepted["status"]["h2"]["alpn"] == "h2"


def test_an_endpoint_the_provider_rejects_is_stalled_with_reason_rejected(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("turned-down", privateDnsName=host("manual"))
    obj = endpoints.wait("turned-down", "Ready", "False", "PendingAcceptance")

    answer = setup.provider_ec2().reject_vpc_endpoint_connections(
        ServiceId=setup.services["manual"]["serviceId"],
        VpcEndpointIds=[obj["status"]["endpointId"]],
    )
    assert answer["Unsuccessful"] == []

    obj = endpoints.wait("turned-down", "Stalled", "True", "Rejected", timeout=4 * DRIFT + 5)
    assert obj["status"]["state"] == "rejected"
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Ready")["reason"] == "Rejected"
    assert "ask" in condition(obj, "Stalled")["message"]
    assert condition(obj, "Reconciling")["status"] == "False"


def test_removing_the_consumer_from_allowed_principals_shows_as_rejected_not_as_missing(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("revocable", privateDnsName=host("revoked"), probe={"enabled": False})
    endpoints.wait_ready("revocable")

    setup.provider.patch(
        API_VERSION,
        PLS_KIND,
        "revoked",
        {
            "spec": {
                "endpointService": {
                    "acceptanceRequired": True,
                    "allowedPrincipals": ["arn:aws:iam::333333333333:root"],
                    "autoAcceptPrincipals": [],
                }
            }
        },
        namespace=PROVIDER_NS,
    )

    obj = endpoints.wait("revocable", "Stalled", "True", "Rejected", timeout=6 * DRIFT + 10)
    assert obj["status"]["state"] == "rejected"
    assert condition(obj, "Ready")["status"] == "False"
    message = condition(obj, "Stalled")["message"]
    assert "ask" in message and "provider" in message


# -- point 2: choosing the service ----------------------------------------------------------------


def test_an_endpoint_given_only_by_service_name_becomes_ready_over_h2(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("by-name", serviceName=setup.services["orders"]["serviceName"])

    obj = endpoints.wait_ready("by-name")

    assert obj["status"]["h2"]["alpn"] == "h2"
    assert obj["status"]["privateDnsName"] == host("orders")
    [vpce] = endpoints.in_aws(endpoints.uid("by-name"))
    assert vpce["ServiceName"] == setup.services["orders"]["serviceName"]


def test_service_name_and_private_dns_name_that_disagree_stall_as_service_mismatch(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create(
        "mismatch",
        serviceName=setup.services["orders"]["serviceName"],
        privateDnsName=host("manual"),
    )

    obj = endpoints.wait("mismatch", "Stalled", "True", "ServiceMismatch")

    message = condition(obj, "Stalled")["message"]
    assert host("orders") in message and host("manual") in message
    assert condition(obj, "Ready")["status"] == "False"
    assert endpoints.in_aws(endpoints.uid("mismatch")) == []


def test_a_private_dns_name_no_visible_service_offers_stalls_naming_the_account(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("nowhere", privateDnsName=host("nothing"))

    obj = endpoints.wait("nowhere", "Stalled", "True", "ServiceNotFound")

    message = condition(obj, "Stalled")["message"]
    assert CONSUMER_ACCOUNT in message
    assert host("nothing") in message
    assert endpoints.in_aws(endpoints.uid("nowhere")) == []


# -- point 2: the owned security group and deletion -----------------------------------------------


def test_allowed_cidrs_get_an_owned_group_opened_on_the_probe_port_removed_after_the_endpoint(
    setup: Setup, endpoints: Endpoints
) -> None:
    port = setup.h2_port
    endpoints.create(
        "fenced",
        privateDnsName=host("orders"),
        allowedCidrs=["10.20.0.0/16", "10.30.1.0/24"],
        probe={"enabled": False},
    )
    obj = endpoints.wait_ready("fenced")
    uid = endpoints.uid("fenced")

    [group] = endpoints.groups_in_aws(uid)
    assert group["GroupId"] == obj["status"]["securityGroupId"]
    assert tag_dict(group["Tags"])[TAG_ROLE] == ROLE_SECURITY_GROUP
    assert ingress_rules(group) == {
        ("tcp", port, port, "10.20.0.0/16"),
        ("tcp", port, port, "10.30.1.0/24"),
    }
    [vpce] = endpoints.in_aws(uid)
    assert [g["GroupId"] for g in vpce["Groups"]] == [group["GroupId"]]

    endpoints.patch_spec("fenced", {"allowedCidrs": ["10.30.1.0/24", "10.40.0.0/16"]})
    eventually(
        lambda: (
            ingress_rules(endpoints.groups_in_aws(uid)[0])
            == {("tcp", port, port, "10.30.1.0/24"), ("tcp", port, port, "10.40.0.0/16")}
        ),
        3 * DRIFT + 5,
        lambda: f"the rules to follow allowedCidrs: {endpoints.groups_in_aws(uid)}",
    )

    setup.emulator.set_delays(endpoint_deletion=2.0)
    try:
        endpoints.delete("fenced")
        group_outlived_endpoint = object_outlived_group = True
        deadline = time.monotonic() + 40
        while endpoints.in_aws(uid) or endpoints.groups_in_aws(uid):
            vpces, groups = endpoints.in_aws(uid), endpoints.groups_in_aws(uid)
            if vpces and not groups:
                group_outlived_endpoint = False
            if groups and endpoints.get("fenced") is None:
                object_outlived_group = False
            assert time.monotonic() < deadline, f"left in AWS: {vpces} {groups}"
            time.sleep(0.1)
    finally:
        setup.emulator.set_delays(endpoint_deletion=0.0)
    assert group_outlived_endpoint, "the group was deleted while the endpoint still existed"
    assert object_outlived_group, "the finalizer let the object go before AWS was clean"
    endpoints.wait_gone("fenced")


def test_deletion_policy_retain_leaves_the_endpoint_and_its_group_in_aws(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create(
        "kept",
        privateDnsName=host("orders"),
        allowedCidrs=["10.20.0.0/16"],
        deletionPolicy="Retain",
        probe={"enabled": False},
    )
    obj = endpoints.wait_ready("kept")
    uid = endpoints.uid("kept")

    endpoints.delete("kept")
    endpoints.wait_gone("kept")

    try:
        [vpce] = endpoints.in_aws(uid)
        assert vpce["VpcEndpointId"] == obj["status"]["endpointId"]
        assert vpce["State"] == "available"
        assert [g["GroupId"] for g in endpoints.groups_in_aws(uid)] == [
            obj["status"]["securityGroupId"]
        ]
    finally:
        ec2 = setup.consumer_ec2()
        ec2.delete_vpc_endpoints(VpcEndpointIds=[obj["status"]["endpointId"]])
        eventually(lambda: not endpoints.in_aws(uid), 10, lambda: "the endpoint to go")
        ec2.delete_security_group(GroupId=obj["status"]["securityGroupId"])


# -- point 2: the HTTP/2 probe --------------------------------------------------------------------


def test_a_server_offering_only_http11_leaves_h2_not_negotiated_and_the_endpoint_not_ready(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("old-server", privateDnsName=host("orders"), probe={"port": setup.http11_port})

    obj = endpoints.wait("old-server", "H2Ready", "False", "H2NotNegotiated")

    assert condition(obj, "EndpointAvailable")["status"] == "True"
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Ready")["reason"] == "H2NotNegotiated"
    assert obj["status"]["h2"]["ready"] is False
    assert obj["status"]["h2"]["alpn"] == "http/1.1"


def test_a_certificate_from_an_unknown_ca_without_ca_bundle_ref_is_not_h2_ready(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("no-bundle", privateDnsName=host("orders"), probe={"caBundleRef": None})

    obj = endpoints.wait("no-bundle", "H2Ready", "False", "UnknownCA")

    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Ready")["reason"] == "UnknownCA"
    assert condition(obj, "EndpointAvailable")["status"] == "True"


# -- point 2: private DNS waits for the provider's verification -----------------------------------


def test_private_dns_is_requested_only_after_the_provider_verified_the_name(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("early", privateDnsName=host("unverified"))

    obj = endpoints.wait("early", "EndpointAvailable", "False", "WaitingForDnsVerification")
    assert "verification" in condition(obj, "EndpointAvailable")["message"]
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Stalled")["status"] == "False"
    [vpce] = endpoints.in_aws(endpoints.uid("early"))
    assert vpce["State"] == "available"
    assert vpce["PrivateDnsEnabled"] is False

    # The provider publishes the TXT record by hand (dns.mode Manual) and verification runs.
    txt = setup.pls("unverified")["status"]["privateDns"]["txtRecord"]
    setup.emulator.client("route53", PROVIDER_ACCOUNT).change_resource_record_sets(
        HostedZoneId=setup.world.zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": txt["name"],
                        "Type": "TXT",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": f'"{txt["value"]}"'}],
                    },
                }
            ]
        },
    )
    setup.provider_ec2().start_vpc_endpoint_service_private_dns_verification(
        ServiceId=setup.services["unverified"]["serviceId"]
    )

    obj = endpoints.wait_ready("early", timeout=3 * DRIFT + 3)
    assert obj["status"]["h2"]["alpn"] == "h2"
    [vpce] = endpoints.in_aws(endpoints.uid("early"))
    assert vpce["PrivateDnsEnabled"] is True


# -- point 2: crash safety ------------------------------------------------------------------------


def test_an_operator_killed_while_creating_the_endpoint_finds_it_after_restart_and_makes_no_twin(
    setup: Setup, endpoints: Endpoints
) -> None:
    # CreateVpcEndpoint answers 3 s late: the operator is killed while it waits, so AWS creates
    # the endpoint but the operator never learns its id (as when a pod dies mid-call).
    rule = setup.emulator.faults.slow(
        "ec2", "CreateVpcEndpoint", seconds=3.0, account=CONSUMER_ACCOUNT, times=1
    )
    endpoints.create("crash", privateDnsName=host("orders"), probe={"enabled": False})
    eventually(
        lambda: any(r.id == rule.id and r.hits for r in setup.emulator.faults.rules()),
        20,
        lambda: "the operator to call CreateVpcEndpoint",
    )
    setup.consumer_operator.kill()
    uid = endpoints.uid("crash")
    eventually(lambda: endpoints.in_aws(uid), 10, lambda: "AWS to create the endpoint")
    assert not endpoints.status("crash").get("endpointId"), "the operator saw the answer"

    mark = setup.emulator.calls.mark()
    setup.consumer_operator.start()
    obj = endpoints.wait_ready("crash", timeout=40)

    [vpce] = endpoints.in_aws(uid)
    assert obj["status"]["endpointId"] == vpce["VpcEndpointId"]
    creates = setup.emulator.calls.select("ec2", "CreateVpcEndpoint", CONSUMER_ACCOUNT, since=mark)
    assert creates == [], "the restarted operator should find the endpoint by its tags"


# -- AWS validation errors ------------------------------------------------------------------------


def test_an_aws_validation_error_stalls_with_its_code_and_is_not_retried_until_the_spec_changes(
    setup: Setup, endpoints: Endpoints
) -> None:
    mark = setup.emulator.calls.mark()
    # The service offers ipv4 only: AWS refuses the create with InvalidParameter.
    endpoints.create(
        "ipv6-only", privateDnsName=host("orders"), ipAddressType="ipv6", probe={"enabled": False}
    )

    obj = endpoints.wait("ipv6-only", "Stalled", "True", "InvalidParameter")
    assert "ipv6" in condition(obj, "Stalled")["message"]
    time.sleep(3 * DRIFT)  # passes keep coming on the drift period; none may call again
    creates = setup.emulator.calls.select("ec2", "CreateVpcEndpoint", CONSUMER_ACCOUNT, since=mark)
    assert len(creates) == 1, f"{len(creates)} CreateVpcEndpoint calls for one bad spec"

    endpoints.patch_spec("ipv6-only", {"ipAddressType": "ipv4"})
    endpoints.wait_ready("ipv6-only")


def test_an_endpoint_deleted_behind_the_operators_back_is_recreated_within_a_drift_period(
    setup: Setup, endpoints: Endpoints
) -> None:
    endpoints.create("recreated", privateDnsName=host("orders"), probe={"enabled": False})
    old = endpoints.wait_ready("recreated")["status"]["endpointId"]

    setup.consumer_ec2().delete_vpc_endpoints(VpcEndpointIds=[old])

    eventually(
        lambda: endpoints.status("recreated").get("endpointId") not in (None, old),
        3 * DRIFT + 5,
        lambda: "a new endpoint; " + str(endpoints.status("recreated")),
    )
    obj = endpoints.wait_ready("recreated")
    [vpce] = endpoints.in_aws(endpoints.uid("recreated"))
    assert vpce["VpcEndpointId"] == obj["status"]["endpointId"] != old
