"""Start and stop the emulator: in the foreground (:func:`serve`) or as a child process.

The child process (:class:`EmulatorProcess`) binds a free loopback port itself and reports it
on its stdout, so there is no port race. It dies with its parent: ``PR_SET_PDEATHSIG`` on
Linux, and it also exits when its stdin (a pipe from the parent) closes. It writes no files.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .state import STATE, Delays

__all__ = ["MOTO_VERSION", "EmulatorProcess", "build_app", "serve"]

_READY = "privatelink-operator-aws-emulator-ready"
MOTO_VERSION = "5.2.5"  # the pinned version the patches were written against


def build_app(delays: Delays | None = None) -> Any:
    """moto's server application with the fidelity patches applied, behind the front door."""
    os.environ.pop("MOTO_ACCOUNT_ID", None)  # accounts come from each request
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    import moto
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from .app import EmulatorApp
    from .patches import apply_all

    if moto.__version__ != MOTO_VERSION:
        print(
            f"warning: the AWS emulator's patches were written for moto {MOTO_VERSION}, "
            f"this is moto {moto.__version__}: run its tests (tests/emulators/aws)",
            file=sys.stderr,
        )
    apply_all()
    STATE.configure(delays or Delays())
    return EmulatorApp(DomainDispatcherApplication(create_backend_app), moto.__version__)


class _NoDrain:
    """A request handler's input for keep-alive: werkzeug's drain after each response (one read
    of 10 MB, safe only because it closes every connection) reads nothing instead of blocking
    on the client's next request. Every other read goes through."""

    _DRAIN = 10_000_000

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if size >= self._DRAIN:
            return b""
        data: bytes = self._raw.read(size)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    delays: Delays | None = None,
    *,
    verbose: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. ``on_ready`` gets the endpoint URL once the port is bound."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the AWS emulator only listens on loopback")
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    class Handler(MotoRequestHandler):
        # Keep-alive, as AWS's endpoints do: HTTP/1.0 (werkzeug's default) would make every
        # client open a TCP connection per call, a cost no client pays against AWS.
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Status line, headers and body leave in separate writes: with Nagle's algorithm on
            # a kept-alive connection, the client's delayed ACK would hold each answer 40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.rfile = _NoDrain(self.rfile)  # type: ignore[assignment]

        def send_header(self, keyword: str, value: str) -> None:
            # werkzeug closes every connection, because http.server cannot drain a request
            # body the application left unread. EmulatorApp reads every body whole, so only
            # a chunked request (which botocore does not send) still needs the close.
            if (
                keyword.lower() == "connection"
                and value.lower() == "close"
                and "chunked" not in self.headers.get("Transfer-Encoding", "").lower()
                and self.headers.get("Connection", "").lower() != "close"
            ):
                return
            super().send_header(keyword, value)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if verbose:
                super().log_request(code, size)

    app = build_app(delays)
    server = make_server(host, port, app, threaded=True, request_handler=Handler)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    url = f"http://{host}:{server.server_port}"
    if on_ready is not None:
        on_ready(url)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def _exit_when_parent_goes() -> None:
    """In the child: die with the parent (SIGTERM on Linux when the parent thread exits)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def child_main(host: str, port: int, delays: Delays, verbose: bool) -> None:
    """Entry point of the child process (``--child``): report the URL, exit on stdin EOF."""

    def watch_stdin() -> None:
        with contextlib.suppress(Exception):
            while os.read(0, 1024):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    def ready(url: str) -> None:
        sys.stdout.write(json.dumps({_READY: True, "endpoint_url": url}) + "\n")
        sys.stdout.flush()
        threading.Thread(target=watch_stdin, daemon=True).start()

    serve(host, port, delays, verbose=verbose, on_ready=ready)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the stdin watcher may still block in read(); nothing else to clean up


class EmulatorProcess:
    """The emulator in a child process: ``start()`` returns its endpoint URL; ``stop()``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delays: Delays | None = None,
        verbose: bool = False,
        python: str = sys.executable,
    ) -> None:
        self.host = host
        self.port = port
        self.delays = delays or Delays()
        self.verbose = verbose
        self.python = python
        self.endpoint_url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 30.0) -> str:
        spec = ",".join(f"{k}={v}" for k, v in self.delays.to_json().items())
        cmd = [
            self.python,
            "-m",
            "privatelink_operator.testing.aws",
            "--child",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--delays",
            spec,
        ]
        if self.verbose:
            cmd.append("--verbose")
        env = dict(os.environ)
        env.pop("MOTO_ACCOUNT_ID", None)
        env["PYTHONUNBUFFERED"] = "1"
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            env=env,
            # PR_SET_PDEATHSIG fires when the forking *thread* ends: only from the main thread.
            # From any thread, the child also exits when this end of its stdin pipe closes.
            preexec_fn=(
                _exit_when_parent_goes
                if threading.current_thread() is threading.main_thread()
                else None
            ),
            close_fds=True,
        )
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                left = deadline - time.monotonic()
                if left <= 0 or self._proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("the AWS emulator did not start (see its stderr above)")
                if selector.select(timeout=min(left, 0.5)):
                    chunk = os.read(self._proc.stdout.fileno(), 4096)
                    if not chunk:
                        continue
                    buffer += chunk
        line = buffer.split(b"\n", 1)[0]
        self.endpoint_url = str(json.loads(line)["endpoint_url"])
        return self.endpoint_url

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
