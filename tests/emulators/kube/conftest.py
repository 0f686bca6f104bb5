from __future__ import annotations

from privatelink_operator.testing.kube.fixtures import (  # noqa: F401
    kube_emulator,
    kube_emulator_factory,
    kubectl,
)
