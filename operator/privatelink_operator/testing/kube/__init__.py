"""A faithful Kubernetes API emulator for tests, benchmarks and the sandbox.

``KubeEmulator`` (a server in a background thread, with helpers) and ``KubeServer`` (the same
on the caller's asyncio loop) serve what kopf, kubectl and the kubernetes client need from
kube-apiserver; see :mod:`.store` for the behaviours reproduced. Pytest fixtures live in
:mod:`.fixtures`; ``python -m privatelink_operator.testing.kube`` runs one in the foreground.
"""

from __future__ import annotations

from .errors import StatusError
from .resources import KOPF_PEERING_CRDS, ResourceInfo
from .server import KubeEmulator, KubeServer, load_crds, write_kubeconfig
from .store import Store
from .wire import KubeHTTP

__all__ = [
    "KOPF_PEERING_CRDS",
    "KubeEmulator",
    "KubeHTTP",
    "KubeServer",
    "ResourceInfo",
    "StatusError",
    "Store",
    "load_crds",
    "write_kubeconfig",
]
