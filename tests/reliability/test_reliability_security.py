"""Security checks: the IAM policy scopes every mutating action to resource ARNs where AWS
supports resource-level permissions; the probe never turns certificate verification off."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "deploy" / "iam-policy.json"
PACKAGE = ROOT / "operator" / "privatelink_operator"

# Mutating actions for which AWS offers no resource-level permission (only "*" works).
NO_RESOURCE_LEVEL: set[str] = set()
READ = ("Describe", "List", "Get")


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_no_mutating_action_of_the_iam_policy_has_a_star_resource() -> None:
    policy = json.loads(POLICY.read_text())
    offenders = []
    for statement in policy["Statement"]:
        resources = _as_list(statement["Resource"])
        for action in _as_list(statement["Action"]):
            name = action.split(":", 1)[1]
            if name.startswith(READ) or action in NO_RESOURCE_LEVEL:
                continue
            if "*" in resources:
                offenders.append(f"{statement['Sid']}: {action}")
            for arn in resources:
                # An ARN of one service's resource type, never a bare service-wide wildcard.
                assert re.fullmatch(r"arn:aws:[a-z0-9-]+:[^:]*:[^:]*:[a-z-]+/.+", arn), arn
    assert offenders == [], offenders


def test_the_iam_policy_keeps_elbv2_and_acm_writes_on_their_own_resource_types() -> None:
    policy = json.loads(POLICY.read_text())
    for statement in policy["Statement"]:
        for action in _as_list(statement["Action"]):
            service = action.split(":", 1)[0]
            if action.split(":", 1)[1].startswith(READ):
                continue
            for arn in _as_list(statement["Resource"]):
                expected = {"elasticloadbalancing": ":elasticloadbalancing:", "acm": ":acm:"}
                if service in expected:
                    assert expected[service] in arn, (statement["Sid"], action, arn)


_INSECURE = [
    r"verify\s*=\s*False",
    r"CERT_NONE",
    r"check_hostname\s*=\s*False",
    r"_create_unverified_context",
    r"InsecureRequestWarning",
    r"ssl\s*=\s*[^\n]*False",
]
# The one place verification may be off: the Kubernetes API client, when the user's kubeconfig
# says ``insecure-skip-tls-verify: true`` (kubectl honours it too; the probe never does).
_ALLOWED = {("kube.py", "ssl=credentials.ssl_context() or False")}


def test_no_code_of_the_operator_turns_certificate_verification_off() -> None:
    """The probe (and everything it shares) verifies certificates and hostnames, always; the
    test-only servers under testing/ and the sandbox's stand-ins are outside the operator."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("testing/", "sandbox/")):
            continue
        text = path.read_text()
        for pattern in _INSECURE:
            for match in re.finditer(pattern, text):
                if (relative, match.group(0)) in _ALLOWED:
                    continue
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{relative}:{line}: {match.group(0)}")
    assert offenders == [], offenders


def test_the_scoped_resources_match_the_arns_the_operator_acts_on() -> None:
    """IAM matches ``*`` across ``/``: each ARN the operator writes to (as AWS spells them)
    is covered by the policy's resources for its action."""
    from fnmatch import fnmatchcase

    policy = json.loads(POLICY.read_text())
    samples = {
        "elasticloadbalancing:DeleteLoadBalancer": "arn:aws:elasticloadbalancing:us-east-1:"
        "111111111111:loadbalancer/net/plo-0123456789abcdef/50dc6c495c0c9188",
        "elasticloadbalancing:RegisterTargets": "arn:aws:elasticloadbalancing:us-east-1:"
        "111111111111:targetgroup/plo-0123456789abcdef-b1b797/73e2d6bc24d8a067",
        "elasticloadbalancing:ModifyListener": "arn:aws:elasticloadbalancing:us-east-1:"
        "111111111111:listener/net/plo-0123456789abcdef/50dc6c495c0c9188/f2f7dc8efc522ab2",
        "acm:DeleteCertificate": "arn:aws:acm:us-east-1:111111111111:certificate/"
        "12345678-1234-1234-1234-123456789012",
    }
    for action, arn in samples.items():
        covering = [
            statement["Sid"]
            for statement in policy["Statement"]
            if action in _as_list(statement["Action"])
            and any(fnmatchcase(arn, pattern) for pattern in _as_list(statement["Resource"]))
        ]
        assert covering, f"{action} on {arn} is not granted"
