"""Trimmed botocore data: service models with only the operations the operator calls, and
endpoint data with only its services (issue #9, memory).

botocore loads a service's whole ``service-2`` model when a client is created (EC2's: 830
operations, every shape, the documentation): the operator's five clients added about 31 MB
resident with the full models, 10 MB with these (botocore 1.44.8). A session's first client
also loads the legacy endpoint resolver's ``endpoints`` data, every service of every partition:
7 MB of Python objects, 0.1 MB with only the operator's five services.

:data:`OPERATIONS` lists every AWS operation the operator can call (a unit test scans the
package for calls and fails on one missing here). ``python -m privatelink_operator.awsmodels``
(``make models``) writes, for each service, the model of the API version botocore uses with
only those operations, the closure of the shapes they reference, no ``documentation``, and in
the structures only answers reach only the fields the operator's code names (:func:`trim`), to
``data/<service>/<api-version>/service-2.json``; ``data/endpoints.json``, botocore's
``endpoints`` with every partition and all its fields but, in each partition's ``services``,
only the operator's (:data:`ENDPOINT_PREFIXES`); and ``data/BOTOCORE_VERSION`` (the botocore
version it was made from).

:func:`install` puts ``data/`` in front of a botocore session's data loader search paths (as
boto3 appends its own ``data/``). botocore's ``Loader`` looks every file up separately through
its search paths, so only ``service-2`` and ``endpoints`` come from here: endpoint rule sets,
``partitions``, paginators and waiters still come from botocore's own data. botocore would take
an ``endpoints`` file from outside its package for a user's own endpoints and then hand the
legacy endpoint to the endpoint rule sets as ``SDK::Endpoint`` (no more FIPS or dual-stack from
the rule sets), so :func:`install` also gives the session a :class:`TrimmedEndpointResolver`:
botocore's legacy resolver on our file, flagged as botocore's data, and on botocore's full data
for any other service (``sso``, ``signin``: clients that credential providers create). The
trimmed data are used only when the recorded botocore version equals the installed one
(otherwise botocore's full data, with one warning), and not at all with
``PLO_FULL_AWS_MODELS=1``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from botocore.regions import EndpointResolver

PACKAGE = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
VERSION_FILE = DATA / "BOTOCORE_VERSION"
ENDPOINTS_FILE = DATA / "endpoints.json"
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

# The key of each client's service in ``endpoints`` (its model's ``metadata.endpointPrefix``;
# the generator checks them).
ENDPOINT_PREFIXES: Mapping[str, str] = {
    "acm": "acm",
    "ec2": "ec2",
    "elbv2": "elasticloadbalancing",
    "route53": "route53",
    "sts": "sts",
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


def _closure(shapes: Mapping[str, Any], roots: Iterable[str]) -> set[str]:
    """The shapes ``roots`` reach, themselves included."""
    reached: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(_shape_refs(shapes[name]))
    return reached


def used_names(package: Path = PACKAGE) -> frozenset[str]:
    """Every word (``[A-Za-z][A-Za-z0-9]*``) of every string constant in the operator's code,
    ``package`` but its ``awsmodels`` and ``testing`` (the emulators): every field name the
    operator can read from an answer (``lb["DNSName"]``, ``.get("State", {}).get("Code")``)."""
    import ast
    import re

    skip = {package / "awsmodels", package / "testing"}
    words: set[str] = set()
    for path in sorted(package.rglob("*.py")):
        if any(parent in skip for parent in path.parents):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                words.update(re.findall(r"[A-Za-z][A-Za-z0-9]*", node.value))
    return frozenset(words)


def trim(
    model: Mapping[str, Any], operations: tuple[str, ...], read: Iterable[str] | None = None
) -> dict[str, Any]:
    """``model`` (a service-2 document) with only ``operations`` (boto3 method names), the
    shapes they reach, and no documentation; ``version``, ``metadata`` and any other top-level
    key as they are, in the model's order.

    ``read`` (:func:`used_names`): a structure only answers reach (not a request, not an error)
    keeps only the members so named. botocore parses every member its model names, and the
    operator keeps parsed answers (drift snapshots: every object's load balancer, target group,
    listener, endpoint service); fields nothing reads cost parsing and memory. A shape that a
    request or an error reaches stays whole: an answer's part the operator may send back (a
    listener's actions, a tag) keeps every field.
    """
    import botocore

    by_method = {botocore.xform_name(name): name for name in model["operations"]}
    missing = sorted(set(operations) - set(by_method))
    if missing:
        raise KeyError(f"{model['metadata'].get('serviceId')}: no such operations {missing}")
    keep_ops = {by_method[method] for method in operations}
    ops = {name: op for name, op in model["operations"].items() if name in keep_ops}
    shapes_of: dict[str, Any] = dict(model["shapes"])
    if read is not None:
        keep = frozenset(read)
        whole = _closure(
            shapes_of,
            [
                ref
                for op in ops.values()
                for k, v in op.items()
                if k != "output"
                for ref in _shape_refs(v)
            ],
        )
        answers = _closure(
            shapes_of, [op["output"]["shape"] for op in ops.values() if "output" in op]
        )
        for name in sorted(answers - whole):
            shape = shapes_of[name]
            if shape.get("type") == "structure":
                members = {m: ref for m, ref in shape.get("members", {}).items() if m in keep}
                shapes_of[name] = {**shape, "members": members}
                if "required" in shape:
                    shapes_of[name]["required"] = [m for m in shape["required"] if m in members]
    shapes = _closure(shapes_of, [ref for op in ops.values() for ref in _shape_refs(op)])
    out: dict[str, Any] = {}
    for key, value in model.items():
        if key == "operations":
            out[key] = _undocumented(ops)
        elif key == "shapes":
            out[key] = {n: _undocumented(shapes_of[n]) for n in value if n in shapes}
        elif key == "documentation":
            continue
        # Any other key as it is: botocore requires ``clientContextParams[*].documentation``.
        else:
            out[key] = value
    return out


def trim_endpoints(endpoints: Mapping[str, Any], services: Iterable[str]) -> dict[str, Any]:
    """``endpoints`` (botocore's legacy endpoint data) with, in each partition's ``services``,
    only ``services`` (endpoint prefixes); every partition, every other key as it is, in order."""
    keep = frozenset(services)
    out: dict[str, Any] = {}
    for key, value in endpoints.items():
        if key == "partitions":
            value = [
                {
                    k: {n: s for n, s in v.items() if n in keep} if k == "services" else v
                    for k, v in partition.items()
                }
                for partition in value
            ]
        out[key] = value
    return out


def generate() -> dict[str, str]:
    """The files to write under :data:`DATA`, by relative path: the trimmed model of each
    service's latest API version in the installed botocore, the trimmed ``endpoints.json``, and
    ``BOTOCORE_VERSION``."""
    import botocore

    loader = builtin_loader()
    files = {"BOTOCORE_VERSION": botocore.__version__ + "\n"}
    read = used_names()
    for service, operations in sorted(OPERATIONS.items()):
        version = loader.determine_latest_version(service, "service-2")
        # load_data, not load_service_model: the latter merges service-2.sdk-extras, which
        # botocore would then merge a second time when it loads the trimmed model.
        model = loader.load_data(f"{service}/{version}/service-2")
        prefix = model["metadata"]["endpointPrefix"]
        if prefix != ENDPOINT_PREFIXES.get(service):
            raise KeyError(f"{service}: endpointPrefix {prefix!r}, fix ENDPOINT_PREFIXES")
        text = json.dumps(trim(model, operations, read), indent=1) + "\n"
        files[f"{service}/{version}/service-2.json"] = text
    endpoints = trim_endpoints(loader.load_data("endpoints"), ENDPOINT_PREFIXES.values())
    files[ENDPOINTS_FILE.name] = json.dumps(endpoints, indent=1) + "\n"
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


class TrimmedEndpointResolver(EndpointResolver):
    """botocore's legacy endpoint resolver on ``endpoint_data`` (:data:`ENDPOINTS_FILE`: the
    partitions of botocore's own ``endpoints`` with only the services in ``services``), flagged
    as botocore's data (``uses_builtin_data``), as it is; for any other service, ``full()``'s
    (botocore's resolver on its own data), made on first use."""

    def __init__(
        self,
        endpoint_data: Mapping[str, Any],
        services: Iterable[str],
        full: Callable[[], EndpointResolver],
    ) -> None:
        super().__init__(endpoint_data, uses_builtin_data=True)
        self.services = frozenset(services)
        self._make_full = full
        self._full: EndpointResolver | None = None

    def full(self) -> EndpointResolver:
        if self._full is None:
            self._full = self._make_full()
        return self._full

    def get_service_endpoints_data(self, service_name: str, partition_name: str = "aws") -> Any:
        if service_name not in self.services:
            return self.full().get_service_endpoints_data(service_name, partition_name)
        return super().get_service_endpoints_data(service_name, partition_name)

    def get_available_endpoints(
        self,
        service_name: str,
        partition_name: str = "aws",
        allow_non_regional: bool = False,
        endpoint_variant_tags: Iterable[str] | None = None,
    ) -> list[str]:
        if service_name not in self.services:
            return self.full().get_available_endpoints(
                service_name, partition_name, allow_non_regional, endpoint_variant_tags
            )
        return super().get_available_endpoints(
            service_name, partition_name, allow_non_regional, endpoint_variant_tags
        )

    def construct_endpoint(  # type: ignore[override]
        self,
        service_name: str,
        region_name: str | None = None,
        partition_name: str | None = None,
        use_dualstack_endpoint: bool = False,
        use_fips_endpoint: bool = False,
    ) -> dict[str, Any] | None:
        args = (region_name, partition_name, use_dualstack_endpoint, use_fips_endpoint)
        if service_name not in self.services:
            return self.full().construct_endpoint(service_name, *args)
        return super().construct_endpoint(service_name, *args)


def endpoint_resolver(loader: Any) -> EndpointResolver:
    """The legacy endpoint resolver for a session whose data ``loader`` has :data:`DATA` first:
    botocore's, on the ``endpoints`` file botocore would find without :data:`DATA` when that is
    not botocore's own (a user's ``~/.aws/models/endpoints.json``, ``AWS_DATA_PATH``); else a
    :class:`TrimmedEndpointResolver` on :data:`ENDPOINTS_FILE`."""
    # As Loader.load_data_with_path("endpoints") finds it, skipping DATA.
    path = next(
        (
            os.path.join(root, "endpoints")
            for root in loader.search_paths
            if root != str(DATA) and loader.file_loader.exists(os.path.join(root, "endpoints"))
        ),
        None,
    )
    if path is None:
        raise FileNotFoundError("no botocore endpoints data in the data loader's search paths")
    if not loader.is_builtin_path(path):
        return EndpointResolver(loader.file_loader.load_file(path), uses_builtin_data=False)

    def full() -> EndpointResolver:
        return EndpointResolver(loader.file_loader.load_file(path), uses_builtin_data=True)

    data = loader.file_loader.load_file(str(ENDPOINTS_FILE.with_suffix("")))
    if data is None:  # not installed with the package
        return full()
    return TrimmedEndpointResolver(data, ENDPOINT_PREFIXES.values(), full)


def install(botocore_session: Any) -> bool:
    """Make ``botocore_session`` load the trimmed ``service-2`` models and endpoint data (if
    :func:`usable`), for clients it creates from now on; True if it will. Logs one warning per
    process when the data do not match the installed botocore."""
    global _warned
    ok, why = usable()
    if not ok:
        if not _warned and not why.startswith(FULL_MODELS_ENV):
            log.warning("Full botocore models for AWS clients: trimmed models unusable, %s", why)
            _warned = True
        return False
    loader = botocore_session.get_component("data_loader")
    if str(DATA) not in loader.search_paths:
        loader.search_paths.insert(0, str(DATA))
    # In place of botocore's own (session._register_endpoint_resolver), which would take our
    # endpoints file for a user's: botocore's private interface, used only with the botocore
    # version the data were made from (usable()). Also when the loader (shared) had DATA.
    botocore_session._internal_components.lazy_register_component(
        "endpoint_resolver", lambda: endpoint_resolver(loader)
    )
    return True
