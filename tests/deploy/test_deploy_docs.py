"""The docs cover what the code can say: every condition reason has a troubleshooting row."""

from __future__ import annotations

import ast
from pathlib import Path

from privatelink_operator.probe.result import Reason

from .aws_actions import PACKAGE

ROOT = Path(__file__).resolve().parents[2]
# Reasons that describe success, not a problem to troubleshoot.
FINE = {"Ready", "Progressing", "Available", "Verified", "H2Negotiated", "ProbeDisabled", "Active"}
CONDITION_CALLS = {"Stall", "wait", "true", "false", "unknown"}


def code_reasons() -> dict[str, str]:
    """CamelCase reason literals passed to Stall(...), plan.wait(...), Condition.x(...)."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("testing", "sandbox"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in CONDITION_CALLS:
                continue
            literals = [a.value for a in node.args if isinstance(a, ast.Constant)]
            index = 0 if name == "Stall" else 1
            if len(literals) > index and isinstance(literals[index], str):
                reason = literals[index]
                if reason[:1].isupper() and " " not in reason:
                    found.setdefault(reason, f"{relative}:{node.lineno}")
    for reason in Reason:
        found.setdefault(str(reason), "probe/result.py")
    return found


def test_every_condition_reason_has_a_troubleshooting_row() -> None:
    table = (ROOT / "docs" / "troubleshooting.md").read_text()
    reasons = code_reasons()
    assert len(reasons) > 20
    missing = {r: where for r, where in reasons.items() if r not in FINE and f"`{r}`" not in table}
    assert not missing, f"add rows to docs/troubleshooting.md for {missing}"


def test_docs_link_each_other_and_exist() -> None:
    for name in ("install.md", "iam.md", "upgrade.md", "troubleshooting.md", "argocd.md"):
        text = (ROOT / "docs" / name).read_text()
        assert text.startswith("# ")
    install = (ROOT / "docs" / "install.md").read_text()
    for target in ("iam.md", "argocd.md"):
        assert f"({target})" in install
    assert "deploy/iam-policy.json" in (ROOT / "docs" / "iam.md").read_text()
