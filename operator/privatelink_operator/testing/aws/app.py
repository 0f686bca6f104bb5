"""The WSGI application: moto behind a front door that logs, faults and controls.

Every signed AWS request is identified (service, action, account, region), logged, possibly
answered by a fault rule, and otherwise passed to moto under one lock. A 12-digit access key id
selects that account (so a process configured only through the standard AWS environment can
act as any account); the ``x-moto-account-id`` header wins when present.

Control API (JSON, not logged as AWS calls):

- ``GET /_emulator/health``
- ``GET|POST|DELETE /_emulator/faults``, ``DELETE /_emulator/faults/<id>``
- ``GET /_emulator/calls?since=N|latest``, ``DELETE /_emulator/calls``
- ``GET|POST /_emulator/delays``
- ``POST /_emulator/reset``: moto's state, fault rules, call log and delays back to start.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from .faults import FaultRule
from .state import STATE, Delays
from .wire import RequestInfo, error_code_of, identify, protocol_of, render_error

__all__ = ["LAST_ERROR", "EmulatorApp"]

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _LastError(threading.local):
    """What made moto fail inside the current request (set by the patches, read here)."""

    kind: str = ""
    message: str = ""


LAST_ERROR = _LastError()


class EmulatorApp:
    def __init__(self, moto_app: WsgiApp, moto_version: str) -> None:
        self.moto_app = moto_app
        self.moto_version = moto_version

    # -- WSGI entry -------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        # The whole body first, whatever the path: the server keeps connections alive, so an
        # unread byte would be taken for the next request's first line.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path.startswith("/_emulator/"):
            status, payload = self._control(environ, path)
            return self._json(start_response, status, payload)
        info = identify(environ, body)
        if info is None:  # moto's own API (/moto-api/...), unsigned calls
            with STATE.lock:
                status, headers, out = self._call_moto(environ)
            start_response(_status_line(status), headers)
            return [out]
        if info.account_from_key:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = info.account
        started = time.monotonic()
        rule = STATE.faults.match(info.service, info.action, info.account, info.region)
        if rule is not None and rule.delay > 0:
            time.sleep(rule.delay)
        if rule is not None and rule.error_code:
            status, headers, out = render_error(
                info.protocol, rule.error_code, rule.message or rule.error_code, rule.status
            )
        else:
            with STATE.lock:
                status, headers, out = self._call_moto(environ, info)
        STATE.calls.record(
            time=time.time(),
            account=info.account,
            region=info.region,
            service=info.service,
            action=info.action,
            status=status,
            error_code=error_code_of(status, out),
            fault=rule.id if rule is not None else None,
            duration_ms=round((time.monotonic() - started) * 1000, 3),
        )
        start_response(_status_line(status), headers)
        return [out]

    # -- moto -------------------------------------------------------------------------------
    def _call_moto(
        self, environ: dict[str, Any], info: RequestInfo | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        LAST_ERROR.kind = LAST_ERROR.message = ""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = list(headers)

        try:
            result = self.moto_app(environ, capture)
        except Exception as error:  # moto raised (Flask propagates it in server mode)
            if info is None:
                raise
            LAST_ERROR.kind = LAST_ERROR.kind or type(error).__name__
            LAST_ERROR.message = LAST_ERROR.message or str(error)
            return self._explain_crash(info)
        try:
            out = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status: int = captured["status"]
        headers: list[tuple[str, str]] = captured["headers"]
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if info is not None and status >= 500 and "html" in content_type:
            return self._explain_crash(info)
        return status, headers, out

    def _explain_crash(self, info: RequestInfo) -> tuple[int, list[tuple[str, str]], bytes]:
        """moto raised instead of answering: a clear, non-retryable 4xx in the service's format."""
        protocol = protocol_of(info.service)
        if LAST_ERROR.kind == "NotImplementedError" or not LAST_ERROR.kind:
            detail = f": {LAST_ERROR.message}" if LAST_ERROR.message else ""
            return render_error(
                protocol,
                "InvalidAction",
                f"{info.service}:{info.action} is not implemented by the AWS emulator "
                f"(moto {self.moto_version}){detail}",
                400,
            )
        return render_error(
            protocol,
            "EmulatorInternalError",
            f"the AWS emulator (moto {self.moto_version}) failed on {info.service}:"
            f"{info.action}: {LAST_ERROR.kind}: {LAST_ERROR.message}",
            400,
        )

    # -- control API ------------------------------------------------------------------------
    def _control(self, environ: dict[str, Any], path: str) -> tuple[int, Any]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            data = self._read_json(environ) if method in ("POST", "PUT") else None
            parts = path.strip("/").split("/")[1:]
            resource = parts[0] if parts else ""
            if resource == "health":
                return 200, {"ok": True, "moto": self.moto_version}
            if resource == "faults":
                return self._faults(method, parts[1:], data)
            if resource == "calls":
                if method == "DELETE":
                    STATE.calls.clear()
                    return 200, {"ok": True}
                raw = parse_qs(environ.get("QUERY_STRING", "")).get("since", ["0"])[0]
                since = STATE.calls.last_seq() if raw == "latest" else int(raw)
                return 200, {
                    "last_seq": STATE.calls.last_seq(),
                    "calls": [c.to_json() for c in STATE.calls.since(since)],
                }
            if resource == "delays":
                if method == "POST":
                    merged = {**STATE.delays.to_json(), **(data or {})}
                    STATE.delays = Delays.from_json(merged)
                return 200, STATE.delays.to_json()
            if resource == "reset" and method == "POST":
                self.reset()
                return 200, {"ok": True}
        except (ValueError, TypeError, KeyError) as error:
            return 400, {"error": str(error)}
        return 404, {"error": f"no such emulator endpoint: {method} {path}"}

    def _faults(self, method: str, rest: list[str], data: Any) -> tuple[int, Any]:
        if method == "POST":
            items = data if isinstance(data, list) else [data]
            added = [STATE.faults.add(FaultRule.from_json(item)).to_json() for item in items]
            return 200, {"rules": added}
        if method == "DELETE":
            if rest:
                found = STATE.faults.remove(rest[0])
                return (200, {"ok": True}) if found else (404, {"error": "no such rule"})
            STATE.faults.clear()
            return 200, {"ok": True}
        return 200, {"rules": [r.to_json() for r in STATE.faults.rules()]}

    def reset(self) -> None:
        from moto.moto_api._internal.models import moto_api_backend

        with STATE.lock:
            moto_api_backend.reset()
            STATE.reset()

    @staticmethod
    def _read_json(environ: dict[str, Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        return json.loads(raw) if raw.strip() else None

    @staticmethod
    def _json(start_response: StartResponse, status: int, payload: Any) -> Iterable[bytes]:
        body = json.dumps(payload).encode()
        start_response(
            _status_line(status),
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


def _status_line(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"
