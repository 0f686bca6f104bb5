"""Shared fixtures: the emulators, a two-account AWS world, clusters with our CRDs, operators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from privatelink_operator import crdgen
from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.aws.fixtures import aws_emulator, aws_emulator_session
from privatelink_operator.testing.kube.fixtures import (
    kube_emulator,
    kube_emulator_factory,
    kubectl,
    kubectl_binary,
)
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World, build_world

__all__ = [
    "aws_emulator",
    "aws_emulator_session",
    "kube_emulator",
    "kube_emulator_factory",
    "kubectl",
    "kubectl_binary",
]


@pytest.fixture
def world(aws_emulator: AwsEmulator) -> World:
    """A fresh provider and consumer account (the emulator is reset before each test)."""
    return build_world(aws_emulator)


@pytest.fixture
def cluster_factory(kube_emulator_factory: Any) -> Callable[..., KubeEmulator]:
    """``cluster_factory("provider", namespaces=["payments"])``: a cluster with our CRDs."""

    def make(name: str = "provider", namespaces: tuple[str, ...] = ("default",)) -> KubeEmulator:
        cluster: KubeEmulator = kube_emulator_factory(name, crds=tuple(crdgen.all_crds()))
        for namespace in namespaces:
            if namespace != "default":
                cluster.create_namespace(namespace)
        return cluster

    return make


@pytest.fixture
def operator_factory() -> Iterator[Callable[..., OperatorProcess]]:
    """``operator_factory(cluster, aws_env, drift_period=2)``: a real operator process."""
    started: list[OperatorProcess] = []

    def make(
        cluster: KubeEmulator, aws_env: dict[str, str], *args: str, **kwargs: Any
    ) -> OperatorProcess:
        process = OperatorProcess(cluster.kubeconfig_path, aws_env, args, **kwargs).start()
        started.append(process)
        return process

    yield make
    for process in started:
        process.cleanup()


@pytest.fixture
def provider_env(aws_emulator: AwsEmulator) -> dict[str, str]:
    return aws_emulator.env(PROVIDER_ACCOUNT)
