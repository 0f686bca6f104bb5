from __future__ import annotations

from collections.abc import Iterator

import pytest

from privatelink_operator.testing.kube import KubeEmulator, KubeHTTP
from privatelink_operator.testing.kube.fixtures import (
    kube_emulator,
    kube_emulator_factory,
    kubectl,
)

__all__ = ["api", "kube_emulator", "kube_emulator_factory", "kubectl"]


@pytest.fixture
def api(kube_emulator: KubeEmulator) -> Iterator[KubeHTTP]:
    yield KubeHTTP(kube_emulator.url)
