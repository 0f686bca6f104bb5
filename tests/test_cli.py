"""The command line: every command is described, and `crds` prints what crds/ holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from privatelink_operator import crdgen

ROOT = Path(__file__).parent.parent


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "privatelink_operator", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_describes_each_command() -> None:
    result = cli("--help")
    assert result.returncode == 0
    assert "PrivateLink" in result.stdout
    for command in ("probe", "crds"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["probe", "crds"])
def test_each_command_has_its_own_help(command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0
    assert "usage:" in result.stdout and len(result.stdout.splitlines()) > 4


def test_crds_command_prints_the_committed_crds() -> None:
    result = cli("crds")
    assert result.returncode == 0
    expected = "---\n".join(
        (ROOT / "crds" / crdgen.crd_filename(doc)).read_text() for doc in crdgen.all_crds()
    )
    assert result.stdout == expected


def test_crds_check_fails_on_a_stale_directory(tmp_path: Path) -> None:
    assert cli("crds", "--output-dir", str(tmp_path)).returncode == 0
    assert cli("crds", "--output-dir", str(tmp_path), "--check").returncode == 0
    first = next(tmp_path.glob("*.yaml"))
    first.write_text(first.read_text().replace("HTTP2Preferred", "HTTP1Only"))
    stale = cli("crds", "--output-dir", str(tmp_path), "--check")
    assert stale.returncode == 1
    assert "make crds" in stale.stderr
