"""The provider's workload in the sandbox: a real HTTP/2 server with TLS on loopback.

- :class:`ApacheBackend`: Apache httpd with mod_http2 and mod_ssl (``Protocols h2 http/1.1``),
  as in the original walk-through, when the binary and those modules are installed (Debian:
  ``apt-get install apache2-bin``). Its configuration, key, pid file and logs live in a
  directory the caller owns; it runs in its own process group and is stopped with it.
  ``GET /healthz`` is answered by httpd itself (mod_status), so its workers, which run as
  ``nobody`` when started as root, need no access to the caller's private files.
- :class:`PythonBackend`: the project's own h2 server (:mod:`..testing.tlsserver`) on a thread,
  when Apache is not there. Same behaviour as far as the demo can tell: TLS with the given
  certificate, ALPN ``h2, http/1.1``, every ``GET`` (``/healthz``) answers 200 ``ok``.

:func:`choose_backend` picks one (``auto``: Apache when usable, else Python).
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Literal, Protocol

from ..testing.background import BackgroundServer
from ..testing.tlsserver import PemCert

__all__ = [
    "ApacheBackend",
    "Backend",
    "BackendChoice",
    "PythonBackend",
    "choose_backend",
    "find_apache",
]

BackendChoice = Literal["auto", "apache", "python"]

HEALTH_BODY = b"ok\n"

_APACHE_BINARIES = ("apache2", "httpd", "/usr/sbin/apache2", "/usr/sbin/httpd")
_MODULE_DIRS = (
    "/usr/lib/apache2/modules",
    "/usr/lib64/httpd/modules",
    "/usr/lib/httpd/modules",
    "/usr/libexec/apache2",
)
_MODULES = {
    "mpm_event_module": "mod_mpm_event.so",
    "authz_core_module": "mod_authz_core.so",
    "socache_shmcb_module": "mod_socache_shmcb.so",
    "ssl_module": "mod_ssl.so",
    "http2_module": "mod_http2.so",
    "status_module": "mod_status.so",
}


class Backend(Protocol):
    description: str
    port: int
    pids: list[int]

    def start(self) -> None: ...

    def stop(self) -> None: ...


class PythonBackend:
    """The h2 server of :mod:`..testing.tlsserver` on its own thread (no process)."""

    def __init__(self, cert: PemCert) -> None:
        self._server = BackgroundServer(
            cert=cert,
            alpn=("h2", "http/1.1"),
            status=200,
            headers=(("content-type", "text/plain"), ("server", "privatelink-sandbox-h2")),
            body=HEALTH_BODY,
        )
        self.description = "Python h2 server (privatelink_operator.testing.tlsserver)"
        self.port = 0
        self.pids: list[int] = []
        self._started = False

    def start(self) -> None:
        self._server.start()
        self._started = True
        self.port = self._server.port

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._server.stop()


def find_apache() -> tuple[str, str] | str:
    """(binary, modules directory) of a usable Apache httpd, or why there is none."""
    binary = next((found for b in _APACHE_BINARIES if (found := shutil.which(b))), None)
    if binary is None:
        return "Apache httpd is not installed (Debian: apt-get install apache2-bin)"
    for directory in _MODULE_DIRS:
        missing = [m for m in _MODULES.values() if not Path(directory, m).exists()]
        if not missing:
            return binary, directory
        if len(missing) < len(_MODULES):
            return f"Apache httpd lacks {', '.join(missing)} in {directory}"
    return f"no Apache module directory with {', '.join(_MODULES.values())}"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _nobody_group() -> str:
    for name in ("nogroup", "nobody"):
        with contextlib.suppress(KeyError):
            grp.getgrnam(name)
            return name
    return "#65534"


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


class ApacheBackend:
    """Apache httpd in the foreground (``-DFOREGROUND``) with a configuration in ``workdir``."""

    def __init__(
        self, cert: PemCert, workdir: Path, binary: str, modules: str, host: str = "127.0.0.1"
    ) -> None:
        self.cert = cert
        self.workdir = workdir
        self.binary = binary
        self.modules = modules
        self.host = host
        self.port = 0
        self.pids: list[int] = []
        self.description = "Apache httpd (mod_http2, mod_ssl)"
        self._process: subprocess.Popen[bytes] | None = None

    def _version(self) -> str:
        try:
            out = subprocess.run(
                [self.binary, "-v"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
        first = out.splitlines()[0] if out else ""
        return first.partition(":")[2].strip()

    def config(self) -> str:
        run, keys = self.workdir / "run", self.workdir / "keys"
        modules = "\n".join(
            f'LoadModule {name} "{self.modules}/{file}"' for name, file in _MODULES.items()
        )
        # As root, httpd must hand its workers to an unprivileged user (it refuses root).
        user = f"User nobody\nGroup {_nobody_group()}\n" if os.geteuid() == 0 else ""
        return f"""# written by the privatelink-operator sandbox; removed when it stops
ServerRoot "{self.workdir}"
ServerName localhost
Listen {self.host}:{self.port}
PidFile "{run}/httpd.pid"
DefaultRuntimeDir "{run}"
Mutex file:{run} default
ErrorLog "{run}/error.log"
LogLevel warn
{modules}
{user}StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
Protocols h2 http/1.1
SSLEngine on
SSLCertificateFile "{keys}/chain.pem"
SSLCertificateKeyFile "{keys}/key.pem"
# No files are served: the docroot is a directory every user can search (workers run as
# nobody and cannot enter the sandbox's private temp dir), and every directory is denied.
DocumentRoot "{self.modules}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
# answered by httpd itself: workers (user nobody) need no access to files under the temp dir
<Location "/healthz">
    SetHandler server-status
    Require all granted
</Location>
"""

    def start(self, timeout: float = 15.0) -> None:
        run, keys = self.workdir / "run", self.workdir / "keys"
        for directory in (run, keys):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        (keys / "chain.pem").write_bytes(self.cert.chain_pem)
        key_path = keys / "key.pem"
        key_path.write_bytes(self.cert.key_pem)
        key_path.chmod(0o600)
        self.port = _free_port(self.host)
        conf = self.workdir / "httpd.conf"
        conf.write_text(self.config())
        log = (run / "stdout.log").open("ab")
        self._process = subprocess.Popen(
            [self.binary, "-f", str(conf), "-DFOREGROUND"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(
                _die_with_parent if threading.current_thread() is threading.main_thread() else None
            ),
        )
        log.close()
        self.pids = [self._process.pid]
        version = self._version()
        if version:
            self.description = f"{version} (mod_http2, mod_ssl)"
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                detail = self.log_tail()
                self.stop()
                raise RuntimeError(f"Apache httpd exited at start:\n{detail}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                return
            if time.monotonic() > deadline:
                detail = self.log_tail()
                self.stop()
                raise RuntimeError(f"Apache httpd did not listen within {timeout:.0f}s:\n{detail}")
            time.sleep(0.1)

    def log_tail(self, lines: int = 20) -> str:
        text = ""
        for name in ("stdout.log", "error.log"):
            path = self.workdir / "run" / name
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # httpd and its workers
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)
        deadline = time.monotonic() + timeout  # workers exit after the parent
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def choose_backend(choice: BackendChoice, cert: PemCert, workdir: Path) -> tuple[Backend, str]:
    """The backend to run and a note on the choice (why not Apache, when it is not)."""
    if choice == "python":
        return PythonBackend(cert), "asked for with --backend python"
    found = find_apache()
    if isinstance(found, str):
        if choice == "apache":
            raise RuntimeError(f"--backend apache: {found}")
        return PythonBackend(cert), found
    binary, modules = found
    return ApacheBackend(cert, workdir, binary, modules), f"found {binary}"
