"""Run the real operator (``python -m privatelink_operator run``) as a child process in tests.

The process talks to a Kubernetes emulator (its kubeconfig) and to the AWS emulator (endpoint
and credentials in its environment); it can be stopped gracefully or killed with SIGKILL to
prove crash safety. Its output goes to a log file that tests can read.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent goes (Linux PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


class OperatorProcess:
    def __init__(
        self,
        kubeconfig: str,
        aws_env: Mapping[str, str],
        args: Sequence[str] = (),
        *,
        cluster_name: str = "default",
        drift_period: float = 60.0,
        name: str = "operator",
        standalone: bool = True,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.aws_env = dict(aws_env)
        self.args = list(args)
        self.cluster_name = cluster_name
        self.drift_period = drift_period
        self.name = name
        self.standalone = standalone  # False: kopf peering (give --priority in ``args``)
        self._dir = tempfile.mkdtemp(prefix=f"plo-{name}-")
        self.log_path = Path(self._dir) / "operator.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> OperatorProcess:
        env = {**os.environ, **self.aws_env, "KUBECONFIG": self.kubeconfig}
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(key, None)
        command = [
            sys.executable,
            "-m",
            "privatelink_operator",
            "run",
            *(["--standalone"] if self.standalone else []),
            "--cluster-name",
            self.cluster_name,
            "--drift-period",
            str(self.drift_period),
            *self.args,
        ]
        log = self.log_path.open("ab")
        main_thread = threading.current_thread() is threading.main_thread()
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # The operator dies with whoever started it (a test, the sandbox), even on SIGKILL.
            # PR_SET_PDEATHSIG follows the forking thread, so only from the main thread.
            preexec_fn=_die_with_parent if main_thread else None,
        )
        log.close()
        self.starts += 1
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finalizer handling, as a crashed pod."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cleanup(self) -> None:
        self.stop()
        if self.log_path.exists():
            self.log_path.unlink()
        os.rmdir(self._dir)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (for an operator's ``--metrics-port``)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: object, timeout: float = 60.0, interval: float = 0.2) -> object:
    """Poll ``predicate()`` until truthy; TimeoutError names what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()  # type: ignore[operator]
        if result:
            return result
        if time.monotonic() > deadline:
            name = getattr(predicate, "__name__", "condition")
            raise TimeoutError(f"timed out after {timeout}s waiting for {name}")
        time.sleep(interval)
