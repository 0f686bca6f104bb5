"""Generate the CustomResourceDefinitions from the pydantic models in ``api``.

The output is a structural schema (apiextensions.k8s.io/v1): every ``$ref`` inlined, ``anyOf``
with null collapsed into the plain type, ``int | str`` as ``x-kubernetes-int-or-string``, no
titles, defaults and enums kept, CEL rules carried over. ``crds/`` in the repository is this
output; a test fails when the two differ.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from . import GROUP, VERSION
from .api import KINDS, KindInfo

_KEEP_AS_IS = {
    "description",
    "default",
    "enum",
    "type",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "pattern",
    "nullable",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
}


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**_deref(target, defs), **{k: v for k, v in node.items() if k != "$ref"}}
        return merged
    return node


def structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Turn one pydantic JSON-schema node into a Kubernetes structural-schema node."""
    node = _deref(node, defs)
    if "anyOf" in node:
        variants = [_deref(v, defs) for v in node["anyOf"]]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        non_null = [v for v in variants if v.get("type") != "null"]
        types = sorted(v.get("type", "") for v in non_null)
        if types == ["integer", "string"]:
            node = {"x-kubernetes-int-or-string": True, **rest}
        elif len(non_null) == 1:
            node = {**non_null[0], **rest}
        else:
            raise ValueError(f"cannot express anyOf {variants!r} in a structural schema")
    if "const" in node:
        node = {**{k: v for k, v in node.items() if k != "const"}, "enum": [node["const"]]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _KEEP_AS_IS:
            if key == "default" and value is None:
                continue
            out[key] = value
        elif key == "properties":
            out["properties"] = {k: structural(v, defs) for k, v in value.items()}
        elif key == "items":
            out["items"] = structural(value, defs)
        elif key == "additionalProperties" and isinstance(value, dict):
            out["additionalProperties"] = structural(value, defs)
        elif key == "required":
            out["required"] = list(value)
    if "properties" in out:
        out.setdefault("type", "object")
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    return out


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return structural(raw, defs)


def crd(info: KindInfo) -> dict[str, Any]:
    spec_schema = model_schema(info.spec)
    status_schema = model_schema(info.status)
    status_schema["description"] = (
        f"Observed state of the {info.kind}, written by the operator (kstatus conditions)."
    )
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{info.plural}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "privatelink-operator"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": list(info.short_names),
                "categories": ["privatelink"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": info.printer_columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": (info.spec.__doc__ or "").strip().splitlines()[0],
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def all_crds() -> list[dict[str, Any]]:
    return [crd(info) for info in KINDS]


def render(doc: dict[str, Any]) -> str:
    header = "# Generated by `python -m privatelink_operator crds` from api.py: do not edit.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)


def crd_filename(doc: dict[str, Any]) -> str:
    return f"{doc['metadata']['name']}.yaml"


def write_crds(output_dir: str | None = None, check: bool = False) -> int:
    docs = all_crds()
    if output_dir is None:
        sys.stdout.write("---\n".join(render(d) for d in docs))
        return 0
    directory = Path(output_dir)
    stale = []
    for doc in docs:
        path = directory / crd_filename(doc)
        text = render(doc)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        sys.stderr.write(
            "These CRDs differ from the models; run `make crds` and commit:\n  "
            + "\n  ".join(stale)
            + "\n"
        )
        return 1
    return 0
