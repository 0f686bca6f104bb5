"""``python -m privatelink_operator.testing.kube`` runs the emulator in the foreground."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from privatelink_operator.testing.kube import KubeHTTP


def test_cli_serves_crds_writes_kubeconfig_and_exits_cleanly(tmp_path: Path) -> None:
    """Starts within seconds, registers --crds, removes its kubeconfig on SIGTERM, exits 0."""
    kubeconfig = tmp_path / "kubeconfig"
    crd_dir = tmp_path / "crds"
    crd_dir.mkdir()
    (crd_dir / "widgets.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.example.dev}\n"
        "spec:\n  group: example.dev\n  scope: Namespaced\n"
        "  names: {plural: widgets, singular: widget, kind: Widget}\n"
        "  versions:\n  - name: v1\n    served: true\n    storage: true\n"
        "    schema:\n      openAPIV3Schema:\n"
        "        {type: object, x-kubernetes-preserve-unknown-fields: true}\n"
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "privatelink_operator.testing.kube", "--kopf-peering",
         "--crds", str(crd_dir), "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line
        assert time.monotonic() - started < 5
        url = line.rsplit(" ", 1)[1].strip()
        api = KubeHTTP(url)
        groups = {g["name"] for g in api.get("/apis")[1]["groups"]}
        assert {"example.dev", "kopf.dev"} <= groups
        assert kubeconfig.exists() and url in kubeconfig.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        if process.stdout is not None:
            process.stdout.close()
    assert not kubeconfig.exists()
    assert os.environ.get("KUBECONFIG") != str(kubeconfig)
