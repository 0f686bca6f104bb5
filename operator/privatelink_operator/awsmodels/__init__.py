"""Trimmed botocore service models: only the operations the operator calls (issue #9, memory).

botocore loads a service's whole ``service-2`` model when a client is created (EC2's: 830
operations, every shape, the documentation): the operator's five clients added about 31 MB
resident with the full models, 10 MB with these (botocore 1.44.8).

:data:`OPERATIONS` lists every AWS operation the operator can call (a unit test scans the
package for calls and fails on one missing here). ``python -m privatelink_operator.awsmodels``
(``make models``) writes, for each service, the model of the API version botocore uses with
only those operations, the closure of the shapes they reference, and no ``documentation``, to
``data/<service>/<api-version>/service-2.json``, plus ``data/BOTOCORE_VERSION`` (the botocore
version it was made from).

:func:`install` puts ``data/`` in front of a botocore session's data loader search paths (as
boto3 appends its own ``data/``). botocore's ``Loader`` looks every file up separately through
its search paths, so only ``service-2`` comes from here: endpoint rule sets, paginators and
waiters still come from botocore's own data. The trimmed models are used only when the
recorded botocore version equals the installed one (otherwise botocore's full models, with one
warning), and not at all with ``PLO_FULL_AWS_MODELS=1``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
VERSION_FILE = DATA / "BOTOCORE_VERSION"
FULL_MODELS_ENV = "PLO_FULL_AWS_MODELS"

# boto3 method names (snake_case), as the operator's code calls them, by client name.
OPERATIONS: Mapping[str, tuple[str, ...]] = {
    "acm": (
        "add_tags_to_certificate",
        "delete_certificate",
        "describe_certificate",
        "list_certificates",
        "list_tags_for_certificate",
        "remove_tags_from_certificate",
        "request_certificate",
    ),
    "ec2": (
        "accept_vpc_endpoint_connections",
        "authorize_security_group_ingress",
        "create_security_group",
        "create_tags",
        "create_vpc_endpoint",
        "create_vpc_endpoint_service_configuration",
        "delete_security_group",
        "delete_tags",
        "delete_vpc_endpoint_service_configurations",
        "delete_vpc_endpoints",
        "describe_security_groups",
        "describe_subnets",
        "describe_vpc_endpoint_connections",
        "describe_vpc_endpoint_service_configurations",
        "describe_vpc_endpoint_service_permissions",
        "describe_vpc_endpoint_services",
        "describe_vpc_endpoints",
        "modify_vpc_endpoint",
        "modify_vpc_endpoint_service_configuration",
        "modify_vpc_endpoint_service_permissions",
        "reject_vpc_endpoint_connections",
        "revoke_security_group_ingress",
        "start_vpc_endpoint_service_private_dns_verification",
    ),
    "elbv2": (
        "add_tags",
        "create_listener",
        "create_load_balancer",
        "create_target_group",
        "delete_listener",
        "delete_load_balancer",
        "delete_target_group",
        "deregister_targets",
        "describe_listeners",
        "describe_load_balancers",
        "describe_tags",
        "describe_target_group_attributes",
        "describe_target_groups",
        "describe_target_health",
        "modify_listener",
        "modify_target_group",
        "modify_target_group_attributes",
        "register_targets",
        "remove_tags",
        "set_security_groups",
        "set_subnets",
    ),
    "route53": (
        "change_resource_record_sets",
        "get_hosted_zone",
        "list_hosted_zones",
        "list_resource_record_sets",
    ),
    "sts": ("get_caller_identity",),
}

_DOC_KEYS = frozenset({"documentation", "documentationUrl"})

log = logging.getLogger(__name__)
_warned = False


def builtin_loader() -> Any:
    """A botocore loader of botocore's own data only (no ``~/.aws/models``, no extra paths)."""
    import botocore.loaders

    loader = botocore.loaders.Loader(include_default_search_paths=False)
    loader.search_paths.append(botocore.loaders.Loader.BUILTIN_DATA_PATH)
    return loader


def _shape_refs(node: Any) -> Iterator[str]:
    """Every shape name ``node`` refers to (``{"shape": name}`` at any depth)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "shape" and isinstance(value, str):
                yield value
            else:
                yield from _shape_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _shape_refs(item)


def _undocumented(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _undocumented(v) for k, v in node.items() if k not in _DOC_KEYS}
    if isinstance(node, list):
        return [_undocumented(v) for v in node]
    return node


def trim(model: Mapping[str, Any], operations: tuple[str, ...]) -> dict[str, Any]:
    """``model`` (a service-2 document) with only ``operations`` (boto3 method names), the
    shapes they reach, and no documentation; ``version``, ``metadata`` and any other top-level
    key as they are, in the model's order."""
    import botocore

    by_method = {botocore.xform_name(name): name for name in model["operations"]}
    missing = sorted(set(operations) - set(by_method))
    if missing:
        raise KeyError(f"{model['metadata'].get('serviceId')}: no such operations {missing}")
    keep_ops = {by_method[method] for method in operations}
    ops = {name: op for name, op in model["operations"].items() if name in keep_ops}
    shapes: set[str] = set()
    todo = [ref for op in ops.values() for ref in _shape_refs(op)]
    while todo:
        name = todo.pop()
        if name not in shapes:
            shapes.add(name)
            todo.extend(_shape_refs(model["shapes"][name]))
    out: dict[str, Any] = {}
    for key, value in model.items():
        if key == "operations":
            out[key] = _undocumented(ops)
        elif key == "shapes":
            out[key] = {n: _undocumented(s) for n, s in value.items() if n in shapes}
        elif key == "documentation":
            continue
        # Any other key as it is: botocore requires ``clientContextParams[*].documentation``.
        else:
            out[key] = value
    return out


def generate() -> dict[str, str]:
    """The files to write under :data:`DATA`, by relative path: the trimmed model of each
    service's latest API version in the installed botocore, and ``BOTOCORE_VERSION``."""
    import botocore

    loader = builtin_loader()
    files = {"BOTOCORE_VERSION": botocore.__version__ + "\n"}
    for service, operations in sorted(OPERATIONS.items()):
        version = loader.determine_latest_version(service, "service-2")
        # load_data, not load_service_model: the latter merges service-2.sdk-extras, which
        # botocore would then merge a second time when it loads the trimmed model.
        model = loader.load_data(f"{service}/{version}/service-2")
        text = json.dumps(trim(model, operations), indent=1) + "\n"
        files[f"{service}/{version}/service-2.json"] = text
    return files


def committed() -> dict[str, str]:
    """The files under :data:`DATA`, by relative path (what :func:`generate` wrote)."""
    if not DATA.is_dir():
        return {}
    return {
        p.relative_to(DATA).as_posix(): p.read_text()
        for p in sorted(DATA.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def write(root: Path = DATA) -> list[Path]:
    """Write :func:`generate`'s files under ``root``, removing stale ones; the paths written."""
    files = generate()
    if root.is_dir():
        for old in sorted(root.rglob("*"), reverse=True):
            rel = old.relative_to(root).as_posix()
            if old.is_file() and rel not in files:
                old.unlink()
            elif old.is_dir() and not any(old.iterdir()):
                old.rmdir()
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def recorded_botocore_version() -> str | None:
    try:
        return VERSION_FILE.read_text().strip() or None
    except OSError:
        return None


def usable() -> tuple[bool, str]:
    """Whether the trimmed models may be used in this process, and why not."""
    import botocore

    if os.environ.get(FULL_MODELS_ENV, "") not in ("", "0"):
        return False, f"{FULL_MODELS_ENV} is set"
    recorded = recorded_botocore_version()
    if recorded is None:
        return False, f"{VERSION_FILE} is missing"
    if recorded != botocore.__version__:
        return False, (
            f"they were made from botocore {recorded}, botocore {botocore.__version__} is "
            "installed (run `make models`)"
        )
    return True, ""


def install(botocore_session: Any) -> bool:
    """Make ``botocore_session`` load the trimmed ``service-2`` models (if :func:`usable`),
    for clients it creates from now on; True if it will. Logs one warning per process when
    the models do not match the installed botocore."""
    global _warned
    ok, why = usable()
    if not ok:
        if not _warned and not why.startswith(FULL_MODELS_ENV):
            log.warning("Full botocore models for AWS clients: trimmed models unusable, %s", why)
            _warned = True
        return False
    search_paths = botocore_session.get_component("data_loader").search_paths
    if str(DATA) not in search_paths:
        search_paths.insert(0, str(DATA))
    return True
