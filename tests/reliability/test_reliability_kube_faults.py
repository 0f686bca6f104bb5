"""The Kubernetes emulator's fault injection: 409/500 on chosen writes, dropped watch streams,
and the request log (verbs as RBAC names them)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from privatelink_operator.testing.kube.faults import KubeFaultRule
from privatelink_operator.testing.kube.server import KubeEmulator


def _request(kube: KubeEmulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    content = "application/merge-patch+json" if method == "PATCH" else "application/json"
    req = urllib.request.Request(
        kube.url + path, data=data, method=method, headers={"Content-Type": content}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


CM = "/api/v1/namespaces/default/configmaps"


def test_a_rule_answers_409_for_the_next_patches_and_the_store_is_untouched(
    kube_emulator: KubeEmulator,
) -> None:
    assert (
        _request(kube_emulator, "POST", CM, {"metadata": {"name": "a"}, "data": {"k": "1"}})[0]
        == 201
    )
    (rule,) = kube_emulator.faults.add(
        KubeFaultRule(verb="patch", resource="configmaps", status=409, times=2)
    )

    answers = [
        _request(kube_emulator, "PATCH", f"{CM}/a", {"data": {"k": str(n)}}) for n in (2, 3, 4)
    ]

    assert [a[0] for a in answers] == [409, 409, 200]
    assert answers[0][1]["reason"] == "Conflict"
    assert rule.hits == 2
    assert kube_emulator.get("v1", "ConfigMap", "a", namespace="default")["data"] == {"k": "4"}


def test_a_probabilistic_500_rule_hits_about_its_share_and_reads_are_spared(
    kube_emulator: KubeEmulator,
) -> None:
    kube_emulator.faults.add(KubeFaultRule(verb="create", status=500, probability=0.3, seed=7))
    statuses = [
        _request(kube_emulator, "POST", CM, {"metadata": {"name": f"c{n}"}})[0] for n in range(100)
    ]
    assert 15 <= statuses.count(500) <= 45, statuses.count(500)
    assert statuses.count(500) + statuses.count(201) == 100
    assert _request(kube_emulator, "GET", CM)[0] == 200


def test_the_request_log_names_rbac_verbs_resources_and_answers(
    kube_emulator: KubeEmulator,
) -> None:
    mark = kube_emulator.faults.mark()
    _request(kube_emulator, "POST", CM, {"metadata": {"name": "x"}})
    _request(kube_emulator, "GET", f"{CM}/x")
    _request(kube_emulator, "GET", CM)
    _request(kube_emulator, "GET", f"{CM}/missing")
    _request(kube_emulator, "DELETE", f"{CM}/x")
    seen = [(r.verb, r.resource, r.status) for r in kube_emulator.faults.requests(since=mark)]
    assert seen == [
        ("create", "configmaps", 201),
        ("get", "configmaps", 200),
        ("list", "configmaps", 200),
        ("get", "configmaps", 404),
        ("delete", "configmaps", 200),
    ]


def test_dropping_watches_ends_every_open_stream(kube_emulator: KubeEmulator) -> None:
    lines: list[bytes] = []
    ended = threading.Event()

    def watch() -> None:
        with urllib.request.urlopen(f"{kube_emulator.url}{CM}?watch=true", timeout=20) as stream:
            for line in stream:
                lines.append(line)
        ended.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    _request(kube_emulator, "POST", CM, {"metadata": {"name": "w"}})
    # The stream is open (it saw the ADDED event) and stays open until dropped.
    for _ in range(100):
        if lines:
            break
        ended.wait(0.05)
    assert lines and not ended.is_set()

    kube_emulator.drop_watches()

    assert ended.wait(5), "the watch stream was not ended"
    assert kube_emulator.faults.watches_dropped == 1


def test_a_rule_refuses_statuses_a_real_api_server_would_not_send(
    kube_emulator: KubeEmulator,
) -> None:
    with pytest.raises(ValueError):
        kube_emulator.faults.add(KubeFaultRule(status=404))
