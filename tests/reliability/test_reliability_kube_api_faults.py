"""Kubernetes API faults: watch streams dropped again and again, and 409 Conflict / 500 on some
writes (status patches, kopf's finalizer and annotation patches, Events) while N services
converge and are deleted; status ends right and no AWS resource is created twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from reliability_helpers import (
    PLS_ROLES,
    Fleet,
    assert_one_of_each,
    env_int,
    is_ready,
    pls_spec,
    scan,
    txt_challenges,
)

from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.kube.faults import KubeFaultRule
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World

N = env_int("RELIABILITY_OBJECTS", 4)
CREATES = (
    "CreateLoadBalancer",
    "CreateTargetGroup",
    "CreateListener",
    "CreateVpcEndpointServiceConfiguration",
)


class WatchDropper:
    """Ends every watch stream of a cluster every ``period`` seconds, in a thread."""

    def __init__(self, fleet: Fleet, period: float) -> None:
        self.fleet, self.period = fleet, period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.drops = 0

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.fleet.kube.drop_watches()
            self.drops += 1

    def __enter__(self) -> WatchDropper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_dropped_watches_and_conflicting_or_failing_writes_still_converge_without_twins(
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    kube = services.kube
    rules = kube.faults.add(
        KubeFaultRule(
            verb="patch",
            resource="privatelinkservices",
            subresource="status",
            status=409,
            probability=0.2,
            seed=1,
        ),
        KubeFaultRule(
            verb="patch",
            resource="privatelinkservices",
            subresource="status",
            status=500,
            probability=0.2,
            seed=2,
        ),
        # kopf's own patches (finalizer, progress annotations): a merge patch without a
        # resourceVersion never conflicts on a real API server, but it can fail.
        KubeFaultRule(
            verb="patch",
            resource="privatelinkservices",
            subresource="",
            status=500,
            probability=0.2,
            seed=3,
        ),
        KubeFaultRule(verb="create", resource="events", status=500, probability=0.3, seed=4),
    )
    mark = aws_emulator.calls.mark()
    kube_mark = kube.faults.mark()
    operator = operator_factory(kube, aws_emulator.env(PROVIDER_ACCOUNT), drift_period=3.0)
    with WatchDropper(services, period=1.5) as dropper:
        for i in range(N):
            services.apply(f"svc{i}", pls_spec(world, wildcard_certificate, i))
        seconds = services.wait_ready(timeout=90 + 5 * N, log=operator.log)
        # A spec change under the same faults is seen and applied (generation 2 observed).
        services.kube.patch(
            "privatelink.operator.dev/v1alpha1",
            "PrivateLinkService",
            "svc0",
            {"spec": {"tags": {"team": "payments"}}},
            namespace=services.namespace,
        )
        services.wait_ready(timeout=60, log=operator.log)
        assert (services.get("svc0") or {})["status"]["observedGeneration"] == 2

        found = scan(aws_emulator)
        assert_one_of_each(found, services, PLS_ROLES)
        assert found.unexplained(set(services.uids())) == {}
        creates = Counter(
            c.action
            for c in aws_emulator.calls.all(since=mark)
            if c.action in CREATES and c.status == 200
        )
        assert creates == dict.fromkeys(CREATES, N), creates

        services.delete_all()
        services.wait_gone(timeout=60 + 3 * N, log=operator.log)
    assert scan(aws_emulator).by_uid == {}
    assert txt_challenges(world) == []
    faulted = [r for r in kube.faults.requests(since=kube_mark) if r.status in (409, 500)]
    hits = {f"{r.resource}/{r.subresource or '-'} {r.status}": r.hits for r in rules}
    print(f"\n{N} objects Ready in {seconds:.1f}s; {dropper.drops} watch drops; faults {hits}")
    assert dropper.drops >= 3
    assert all(rule.hits > 0 for rule in rules), hits
    assert len(faulted) >= sum(hits.values())
    assert not any(is_ready(o) is False and o for o in services.objects())
