"""``python -m privatelink_operator plan -f pls.yaml``: what the operator would do.

The file is admitted as the API server would admit it (unknown fields rejected as ``kubectl
apply`` does by default, schema defaults applied, schema and CEL rules checked), then one
reconcile pass runs with ``apply=False``: AWS is only read (Describe/List/Get calls), and the
plan is printed as text or JSON.

The object's uid decides its AWS names and ownership tags. It comes from the file's
``metadata.uid``, ``--uid``, or the live object in the cluster of ``KUBECONFIG`` (whose status
also says what the last pass recorded); without any of them the object is planned as new.

Exit status: 0 the plan was computed; 1 the plan stalls (applying would not progress) or AWS
could not be read; 2 the file is not a valid PrivateLinkService.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from . import GROUP, VERSION

KIND = "PrivateLinkService"
PLURAL = "privatelinkservices"
NEW_UID = "00000000-0000-0000-0000-000000000000"

EXIT_OK = 0
EXIT_STALLED = 1
EXIT_INVALID = 2


class InvalidInput(Exception):
    """The file cannot be planned: the message says what is wrong and where."""


@dataclass
class Target:
    """One PrivateLinkService of the file, admitted, with what the cluster knows of it."""

    namespace: str
    name: str
    spec: dict[str, Any]
    uid: str
    new: bool
    status: dict[str, Any] = field(default_factory=dict)
    generation: int | None = None
    notes: list[str] = field(default_factory=list)


def _load_documents(filename: str) -> list[dict[str, Any]]:
    import yaml

    try:
        if filename == "-":
            text = sys.stdin.read()
        else:
            with open(filename, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise InvalidInput(f"cannot read {filename}: {exc.strerror or exc}") from exc
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{filename} is not valid YAML: {exc}") from exc
    for doc in docs:
        if not isinstance(doc, dict):
            raise InvalidInput(f"{filename}: every document must be a mapping (an object)")
    objects = [
        d for d in docs if d.get("kind") == KIND and d.get("apiVersion") == f"{GROUP}/{VERSION}"
    ]
    if not objects:
        raise InvalidInput(
            f"{filename} holds no {KIND} (apiVersion {GROUP}/{VERSION}, kind {KIND})"
        )
    return objects


def _unknown_fields(original: Any, pruned: Any, path: str) -> list[str]:
    """Paths present in ``original`` that pruning dropped (what kubectl's strict mode rejects)."""
    found: list[str] = []
    if isinstance(original, Mapping) and isinstance(pruned, Mapping):
        for key, value in original.items():
            child = f"{path}.{key}" if path else str(key)
            if key not in pruned:
                if value is not None:
                    found.append(child)
            else:
                found += _unknown_fields(value, pruned[key], child)
    elif isinstance(original, list) and isinstance(pruned, list):
        for i, (a, b) in enumerate(zip(original, pruned, strict=False)):
            found += _unknown_fields(a, b, f"{path}[{i}]")
    return found


def admit(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The object as the API server stores it (defaults applied), or InvalidInput."""
    from .admission import AdmissionError, SchemaValidator
    from .crdgen import all_crds

    crd = next(c for c in all_crds() if c["spec"]["names"]["kind"] == KIND)
    validator = SchemaValidator.from_crd(crd)
    name = str((doc.get("metadata") or {}).get("name") or "")
    if not name:
        raise InvalidInput(f"{KIND} has no metadata.name")
    pruned = validator.prune(doc)
    problems = [
        f'strict decoding error: unknown field "{p}"'
        for p in _unknown_fields(doc, pruned, "")
        if p.startswith(("spec.", "spec["))
    ]
    admitted: dict[str, Any] = {}
    try:
        admitted = validator.admit(doc)
    except AdmissionError as exc:
        problems += [str(e) for e in exc.errors]
    if problems:
        listed = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        raise InvalidInput(f'{KIND}.{GROUP} "{name}" is invalid: {listed}')
    return admitted


def _parse_spec(spec: Mapping[str, Any], name: str) -> Any:
    from pydantic import ValidationError

    from .api import PrivateLinkServiceSpec

    try:
        return PrivateLinkServiceSpec.model_validate(dict(spec))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise InvalidInput(f'{KIND}.{GROUP} "{name}" is invalid: {problems}') from exc


def _live_object(namespace: str, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The object in the cluster of KUBECONFIG: (object or None, why it could not be read)."""
    path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    if not any(os.path.exists(p) for p in path.split(os.pathsep) if p):
        return None, f"no kubeconfig at {path}"
    from . import kube

    try:
        found = kube.request_sync(kube.custom_object_path(PLURAL, namespace, name), timeout=5)
        return dict(found), None
    except kube.KubeApiError as exc:
        if exc.status == 404:
            return None, None
        return None, f"could not read the cluster ({exc.status} {exc.reason})"
    except Exception as exc:  # the cluster is only a hint: any failure means "not known"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"could not read the cluster ({reason})"


def prepare(doc: Mapping[str, Any], uid_option: str | None) -> Target:
    admitted = admit(doc)
    meta = admitted.get("metadata") or {}
    name = str(meta["name"])
    namespace = str(meta.get("namespace") or "default")
    spec = dict(admitted.get("spec") or {})
    _parse_spec(spec, name)
    uid = str(meta.get("uid") or uid_option or "")
    live, problem = _live_object(namespace, name)
    target = Target(namespace, name, spec, uid or NEW_UID, new=False)
    if live is not None:
        live_uid = str(live.get("metadata", {}).get("uid") or "")
        if not uid or uid == live_uid:
            target.uid = live_uid
            target.status = dict(live.get("status") or {})
            generation = live.get("metadata", {}).get("generation")
            changed = dict(live.get("spec") or {}) != spec
            if isinstance(generation, int):
                target.generation = generation + 1 if changed else generation
            target.notes.append(
                f"compared with the live object (uid {live_uid}, generation {generation})"
                + (": the spec in the file differs from the cluster's" if changed else "")
            )
        else:
            target.notes.append(
                f"the cluster's {namespace}/{name} has uid {live_uid}, not {uid}: its status "
                "is not used"
            )
    elif not uid:
        target.new = True
        why = f"; {problem}" if problem else ""
        target.notes.append(
            f"new object: not found in the cluster{why}. AWS names and ownership tags depend on "
            "the uid Kubernetes assigns at creation, so the names shown are placeholders; pass "
            "--uid to plan for an existing object"
        )
    elif problem:
        target.notes.append(f"uid {uid}; {problem}: planned without the object's status")
    return target


def plan_target(target: Target, cluster_name: str, aws: Any) -> Any:
    """The reconcile pass without writes: an Outcome whose plan is what applying would do."""
    from .ownership import Owner
    from .provider.reconcile import reconcile_service

    spec = _parse_spec(target.spec, target.name)
    owner = Owner(cluster_name, KIND, target.namespace, target.name, target.uid)
    outcome = reconcile_service(
        aws, owner, spec, target.status, target.generation, endpoint_targets=None, apply=False
    )
    if spec.backend.service_ref is not None:
        outcome.plan.notes.append(
            f"targets come from the ready endpoints of Service {spec.backend.service_ref.name}; "
            "the plan leaves registered targets as they are"
        )
    return outcome


def _render_text(target: Target, cluster_name: str, outcome: Any, out: TextIO) -> None:
    state = "new object" if target.new else f"uid {target.uid}"
    out.write(f"{KIND} {target.namespace}/{target.name} ({state}, cluster {cluster_name})\n")
    for note in target.notes:
        out.write(f"note       {note}\n")
    out.write(outcome.plan.to_text() + "\n")


def _as_json(target: Target, cluster_name: str, outcome: Any) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(outcome.plan.to_json())
    return {
        "object": {
            "kind": KIND,
            "namespace": target.namespace,
            "name": target.name,
            "uid": None if target.new else target.uid,
            "new": target.new,
        },
        "clusterName": cluster_name,
        **plan,
        "notes": target.notes + list(plan.get("notes") or []),
    }


def cli_plan(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the plan of every PrivateLinkService in ``args.filename``; never writes to AWS."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        docs = _load_documents(args.filename)
        targets = [prepare(doc, args.uid) for doc in docs]
    except InvalidInput as exc:
        err.write(f"error: {exc}\n")
        return EXIT_INVALID
    if args.uid and len(targets) > 1:
        err.write("error: --uid names one object, but the file holds several\n")
        return EXIT_INVALID

    import botocore.exceptions

    from .aws import AwsClients, AwsError

    aws = AwsClients(region=os.environ.get("AWS_REGION"))
    results = []
    code = EXIT_OK
    for target in targets:
        try:
            outcome = plan_target(target, args.cluster_name, aws)
        except (AwsError, botocore.exceptions.BotoCoreError) as exc:
            err.write(f"error: cannot read AWS for {target.namespace}/{target.name}: {exc}\n")
            return EXIT_STALLED
        if outcome.plan.stall is not None:
            code = EXIT_STALLED
        results.append((target, outcome))
    if args.output == "json":
        items = [_as_json(t, args.cluster_name, o) for t, o in results]
        document: Any = items[0] if len(items) == 1 else {"kind": "List", "items": items}
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        for i, (target, outcome) in enumerate(results):
            if i:
                out.write("\n")
            _render_text(target, args.cluster_name, outcome, out)
    return code
