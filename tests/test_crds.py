"""The CRDs in crds/ are generated from the models, structural, and acceptable to Kubernetes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from privatelink_operator import celrules, crdgen

ROOT = Path(__file__).parent.parent
CRDS = crdgen.all_crds()
IDS = [c["spec"]["names"]["kind"] for c in CRDS]


def schema_nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for key, child in node.get("properties", {}).items():
        yield from schema_nodes(child, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        yield from schema_nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_nodes(node["additionalProperties"], f"{path}{{}}")


def root_schema(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def test_committed_crds_equal_the_generated_ones() -> None:
    for doc in CRDS:
        path = ROOT / "crds" / crdgen.crd_filename(doc)
        assert path.read_text() == crdgen.render(doc), f"{path} is stale: run `make crds`"
    assert len(list((ROOT / "crds").glob("*.yaml"))) == len(CRDS)


@pytest.mark.parametrize("crd", CRDS, ids=IDS)
def test_crd_schema_is_structural(crd: dict[str, Any]) -> None:
    forbidden = {"$ref", "anyOf", "allOf", "oneOf", "not", "title", "$defs"}
    for path, node in schema_nodes(root_schema(crd)):
        assert not forbidden & node.keys(), f"{path}: {forbidden & node.keys()}"
        assert (
            "type" in node
            or node.get("x-kubernetes-int-or-string")
            or node.get("x-kubernetes-preserve-unknown-fields")
        ), f"{path} has no type"
        if "properties" in node:
            assert node["type"] == "object", path
        assert node.get("additionalProperties") is not False, path


@pytest.mark.parametrize("crd", CRDS, ids=IDS)
def test_crd_is_a_valid_kubernetes_object(crd: dict[str, Any]) -> None:
    kubernetes_validate.validate(crd, "1.30", strict=True)


@pytest.mark.parametrize("crd", CRDS, ids=IDS)
def test_cel_rules_compile_and_stay_within_the_api_servers_cost_limits(crd: dict[str, Any]) -> None:
    """Every rule compiles; what a rule iterates over is bounded, as the API server requires."""
    kubernetes_only = re.compile(r"\?\.|\blowerAscii\b|\bisURL\b|\bisCIDR\b|\bquantity\b")
    rules = 0
    for path, node in schema_nodes(root_schema(crd)):
        in_spec = path.startswith(".spec")
        if in_spec and node.get("type") == "array":
            assert "maxItems" in node, f"{path}: unbounded list"
        if in_spec and node.get("type") == "string" and "enum" not in node:
            assert "maxLength" in node, f"{path}: unbounded string"
        for rule in node.get("x-kubernetes-validations", []):
            rules += 1
            assert rule.get("message"), f"{path}: rule without a message"
            assert not kubernetes_only.search(rule["rule"]), f"{path}: {rule['rule']}"
            celrules._program(rule["rule"])
    assert rules >= 10


@pytest.mark.parametrize("crd", CRDS, ids=IDS)
def test_crd_names_subresource_and_columns(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert spec["group"] == "privatelink.operator.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["categories"] == ["privatelink"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    if spec["names"]["kind"] == "PrivateLinkService":
        assert spec["names"]["shortNames"] == ["pls"]
        assert columns == ["Service", "DNS", "Ready", "Age"]
    else:
        assert spec["names"]["shortNames"] == ["ple"]
        assert columns == ["Service", "State", "Ready", "H2", "Age"]


def test_crd_files_are_plain_yaml_that_kubectl_can_apply() -> None:
    for path in (ROOT / "crds").glob("*.yaml"):
        docs = list(yaml.safe_load_all(path.read_text()))
        assert len(docs) == 1
        assert docs[0]["kind"] == "CustomResourceDefinition"
