"""The AWS actions the operator's code can call, found statically, and IAM action names.

Every AWS call goes through ``AwsClients.call(service, operation, ...)`` or a plan ``Step(...,
service, operation, ...)``: both spell the service and the boto3 operation as two adjacent
string literals, which is what :func:`code_actions` looks for in the package's source.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import botocore.session

import privatelink_operator

SERVICES = ("ec2", "elbv2", "acm", "route53", "sts")
# IAM's service prefixes where they differ from boto3's client names.
IAM_PREFIX = {"elbv2": "elasticloadbalancing"}
PACKAGE = Path(privatelink_operator.__file__).parent


def iam_action(service: str, operation: str) -> str:
    """``("elbv2", "create_listener")`` or ``("elbv2", "CreateListener")`` -> IAM's name."""
    if "_" in operation or operation.islower():
        operation = api_name(service, operation)
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


_NAMES: dict[str, dict[str, str]] = {}


def api_name(service: str, method: str) -> str:
    """boto3 method name -> API operation name, from botocore's own model."""
    if service not in _NAMES:
        model = botocore.session.get_session().get_service_model(service)
        client_names = {}
        for op in model.operation_names:
            client_names[botocore.xform_name(op)] = op
        _NAMES[service] = client_names
    try:
        return _NAMES[service][method]
    except KeyError:
        raise KeyError(f"{service} has no operation {method}") from None


def code_actions() -> dict[str, list[str]]:
    """IAM action -> where it appears (``path:line``) in the package, test support excluded."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("testing", "sandbox"):
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            args = node.args
            for first, second in itertools.pairwise(args):
                if (
                    isinstance(first, ast.Constant)
                    and first.value in SERVICES
                    and isinstance(second, ast.Constant)
                    and isinstance(second.value, str)
                ):
                    action = iam_action(first.value, second.value)
                    found.setdefault(action, []).append(f"{relative}:{node.lineno}")
    return found
