"""``python -m privatelink_operator sandbox`` end to end, as ``make demo`` runs it.

Each run gets its own TMPDIR and an environment marker that every process it starts inherits,
so after it ends the test can prove that no file and no process of it is left.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

MARK = "PLO_SANDBOX_TEST_MARK"


@dataclass
class Run:
    tmpdir: Path
    marker: str
    env: dict[str, str]

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "privatelink_operator", "sandbox", "--timeout", "120", *args]


@pytest.fixture
def sandbox_run(tmp_path: Path) -> Iterator[Run]:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    marker = uuid.uuid4().hex
    env = {**os.environ, "TMPDIR": str(tmpdir), MARK: marker, "PYTHONUNBUFFERED": "1"}
    run = Run(tmpdir, marker, env)
    yield run
    for pid in processes_with(marker):  # never leave a stray process behind a failed test
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def processes_with(marker: str) -> list[int]:
    """Processes whose environment carries the run's marker (the sandbox's descendants)."""
    found = []
    needle = f"{MARK}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def assert_nothing_left(run: Run, output: str) -> None:
    deadline = time.monotonic() + 5
    while processes_with(run.marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(run.marker) == [], output
    assert sorted(p.name for p in run.tmpdir.iterdir()) == [], output
    stopped = re.search(r"Stopped everything the sandbox started \(pids: ([^)]*)\)", output)
    assert stopped is not None, output
    for name in ("aws-emulator", "provider-operator", "consumer-operator"):
        assert re.search(rf"\b{name} \d+", stopped.group(1)), output


def conditions_line(output: str, kind: str, condition: str) -> list[tuple[str, str]]:
    return re.findall(rf"{kind} \S+  {condition}=(\w+) \((\w+)\)", output)


def test_the_demo_reaches_ready_and_h2_prints_both_statuses_and_leaves_nothing_behind(
    sandbox_run: Run,
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        sandbox_run.command(),
        env=sandbox_run.env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert time.monotonic() - started < 120, output
    # each condition turned True, as shown while waiting
    for kind, condition in [
        ("pls", "LoadBalancerReady"),
        ("pls", "EndpointServiceAvailable"),
        ("pls", "DnsVerified"),
        ("pls", "Ready"),
        ("ple", "EndpointAvailable"),
        ("ple", "H2Ready"),
        ("ple", "Ready"),
    ]:
        assert conditions_line(output, kind, condition)[-1][0] == "True", (kind, condition, output)
    # the kubectl tables: the service verified and Ready, the endpoint available, Ready, h2
    assert re.search(r"payments +privatelinkservice\S*/orders +\S+ +verified +True +Ready", output)
    assert re.search(
        r"checkout +privatelinkendpoint\S*/orders +\S+ +available +True +h2 +Ready", output
    ), output
    # the probe, curl-like, through the NLB stand-in
    assert "* ALPN: server accepted h2" in output
    assert re.search(r"< HTTP/2 200", output)
    assert "* READY (H2Negotiated" in output
    assert_nothing_left(sandbox_run, output)


def test_the_alpn_switch_shows_h2ready_false_with_its_reason_and_back(sandbox_run: Run) -> None:
    """With the Python backend, so both backends run end to end where Apache is installed."""
    result = subprocess.run(
        sandbox_run.command("--alpn", "HTTP1Only", "--backend", "python"),
        env=sandbox_run.env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    h2ready = conditions_line(output, "ple", "H2Ready")
    statuses = [status for status, _ in h2ready]
    # True (h2), then False under HTTP1Only with the probe's reason, then True again
    first_true = statuses.index("True")
    false_at = statuses.index("False", first_true)
    assert h2ready[false_at] == ("False", "H2NotNegotiated"), output
    assert "True" in statuses[false_at:], output
    assert "it now offers http/1.1, http/1.0" in output
    assert "it now offers h2, http/1.1, http/1.0" in output
    assert "chose ALPN 'http/1.1'" in output
    assert_nothing_left(sandbox_run, output)


def read_until(process: subprocess.Popen[str], text: str, timeout: float) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"{text!r} did not appear:\n{seen}")


def test_keep_prints_working_kubeconfigs_and_ctrl_c_stops_everything(sandbox_run: Run) -> None:
    process = subprocess.Popen(
        sandbox_run.command("--keep"),
        env=sandbox_run.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = read_until(process, "Press Ctrl-C", timeout=150)
        kubeconfigs = re.findall(r"export KUBECONFIG=(\S+)", output)
        assert len(kubeconfigs) == 2, output
        kubectl = Path(sys.executable).parent / "kubectl"
        if kubectl.exists():
            shown = subprocess.run(
                [str(kubectl), "get", "ple", "-A"],
                env={**os.environ, "KUBECONFIG": kubeconfigs[1]},
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
            assert "available" in shown and "h2" in shown
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output += rest
    assert process.returncode == 0, output
    assert "SIGINT: stopping" in output
    assert_nothing_left(sandbox_run, output)


def test_sigterm_in_the_middle_of_start_up_stops_everything_already_started(
    sandbox_run: Run,
) -> None:
    process = subprocess.Popen(
        sandbox_run.command(),
        env=sandbox_run.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = read_until(process, "Consumer operator: pid", timeout=60)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output += rest
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "SIGTERM: stopping" in output
    assert_nothing_left(sandbox_run, output)


def test_a_run_that_times_out_names_what_is_missing_and_shows_the_operators_logs(
    sandbox_run: Run,
) -> None:
    command = [sys.executable, "-m", "privatelink_operator", "sandbox", "--timeout", "4"]
    result = subprocess.run(
        command, env=sandbox_run.env, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "sandbox: timed out after 4s waiting for" in output
    assert re.search(r"Not there yet:\n  \w+ (pls|ple) \S+ \w+=", output), output
    assert "Last lines of the provider-operator's log:" in output
    assert "Last lines of the consumer-operator's log:" in output
    assert_nothing_left(sandbox_run, output)
