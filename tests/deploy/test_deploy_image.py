"""The image's steps without docker: build the wheel, install it with the pinned dependencies
into a clean virtual environment, run ``python -m privatelink_operator --help`` from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def run(*args: str | Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_dockerfile_is_slim_pinned_and_non_root() -> None:
    assert "FROM python:3.11-slim AS build" in DOCKERFILE
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /wheels ." in DOCKERFILE
    assert "pip install --constraint /tmp/constraints.txt /tmp/wheels/*.whl" in DOCKERFILE
    assert "\nUSER 10001:10001\n" in DOCKERFILE
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*"


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_venv_and_runs(tmp_path: Path) -> None:
    # The build context, as .dockerignore leaves it.
    context = tmp_path / "src"
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(
        ROOT / "operator", context / "operator", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", wheels, ".",
        cwd=context, timeout=300)  # fmt: skip
    (wheel,) = wheels.glob("privatelink_operator-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path, timeout=120)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--constraint",
        ROOT / "requirements" / "constraints.txt", wheel, cwd=tmp_path, timeout=540)  # fmt: skip
    helped = run(python, "-m", "privatelink_operator", "--help", cwd=tmp_path, timeout=60)
    assert "run" in helped.stdout and "probe" in helped.stdout and "crds" in helped.stdout
    run_help = run(python, "-m", "privatelink_operator", "run", "--help", cwd=tmp_path, timeout=60)
    assert "--metrics-port" in run_help.stdout and "--selector" in run_help.stdout
    # The installed package, not the source tree, answered; and it carries its type marker.
    where = run(python, "-c", "import privatelink_operator as p; print(p.__file__)",
                cwd=tmp_path, timeout=60)  # fmt: skip
    assert str(venv) in where.stdout
    assert list(venv.glob("lib/python*/site-packages/privatelink_operator/py.typed"))
    crds = run(python, "-m", "privatelink_operator", "crds", cwd=tmp_path, timeout=60)
    assert "privatelinkservices.privatelink.operator.dev" in crds.stdout
