"""The sample resources of ``examples/``, and the few edits the sandbox makes to them.

The examples are written for real accounts. On the sandbox the AWS ids differ (the emulator
makes its own VPC and subnet ids), the certificate comes from a local CA (imported into ACM
instead of requested, so the NLB stand-in holds its key), and the consumer's probe trusts that
CA and reaches the stand-in's port. Every edit is returned as a sentence, so the sandbox shows
exactly how what it applies differs from the files.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ENDPOINT_FILE",
    "SERVICE_FILE",
    "adapt_endpoint",
    "adapt_service",
    "default_examples_dir",
    "load_example",
]

SERVICE_FILE = "privatelinkservice.yaml"
ENDPOINT_FILE = "privatelinkendpoint.yaml"


def default_examples_dir() -> Path:
    """``examples/`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "examples"


def load_example(directory: Path, filename: str) -> dict[str, Any]:
    path = directory / filename
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise RuntimeError(
            f"cannot read the example {path}: {exc} (run from a clone of the repository, or "
            "pass --examples DIR)"
        ) from exc
    if not isinstance(document, dict):
        raise RuntimeError(f"{path}: expected one YAML object")
    return document


def adapt_service(
    document: Mapping[str, Any], *, subnet_ids: Sequence[str], certificate_arn: str
) -> tuple[dict[str, Any], list[str]]:
    """The PrivateLinkService example with the sandbox's subnets and certificate."""
    doc = copy.deepcopy(dict(document))
    spec = doc.setdefault("spec", {})
    notes = []
    spec["subnetIds"] = list(subnet_ids)
    notes.append(f"spec.subnetIds: the emulated provider VPC's subnets ({', '.join(subnet_ids)})")
    listener = spec.setdefault("listener", {})
    if listener.get("certificateArn") != certificate_arn:
        listener.pop("requestCertificate", None)
        listener["certificateArn"] = certificate_arn
        notes.append(
            "spec.listener.certificateArn: a local-CA certificate for "
            f"{spec.get('privateDnsName')} imported into ACM (instead of requestCertificate), "
            "so the NLB stand-in can present it"
        )
    return doc, notes


def adapt_endpoint(
    document: Mapping[str, Any],
    *,
    vpc_id: str,
    subnet_ids: Sequence[str],
    probe_port: int,
    ca_config_map: str,
    interval_seconds: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The PrivateLinkEndpoint example with the sandbox's VPC, probe port and trust roots."""
    doc = copy.deepcopy(dict(document))
    spec = doc.setdefault("spec", {})
    spec["vpcId"] = vpc_id
    spec["subnetIds"] = list(subnet_ids)
    notes = [
        f"spec.vpcId, spec.subnetIds: the emulated consumer VPC ({vpc_id}, {', '.join(subnet_ids)})"
    ]
    probe = spec.setdefault("probe", {})
    probe["port"] = probe_port
    notes.append(
        f"spec.probe.port: {probe_port}, where the NLB stand-in listens on loopback "
        "(the listener's port 443 needs root)"
    )
    probe["caBundleRef"] = {"kind": "ConfigMap", "name": ca_config_map, "key": "ca.crt"}
    notes.append(
        f"spec.probe.caBundleRef: ConfigMap {ca_config_map}, the local CA (on AWS the "
        "certificate chains to a public root)"
    )
    if interval_seconds is not None and probe.get("intervalSeconds") != interval_seconds:
        probe["intervalSeconds"] = interval_seconds
        timeout = min(int(probe.get("timeoutSeconds", 5)), max(1, interval_seconds - 2))
        probe["timeoutSeconds"] = timeout
        notes.append(
            f"spec.probe.intervalSeconds: {interval_seconds} (timeoutSeconds {timeout}), "
            "to see the ALPN switch sooner"
        )
    return doc, notes
