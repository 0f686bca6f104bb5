"""What an AWS request is (service, action, account, region) and how an AWS error looks on the wire.

Both are read from botocore's service models, so every protocol the operator's clients speak is
covered: ``ec2``, ``query`` (ELBv2, STS), ``json`` (ACM), ``rest-xml`` (Route 53) and
``smithy-rpc-v2-cbor`` (the Resource Groups Tagging API).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session

from .faults import canonical_service

__all__ = ["DEFAULT_ACCOUNT", "RequestInfo", "error_code_of", "identify", "render_error"]

DEFAULT_ACCOUNT = "123456789012"  # moto's account when the request names none

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_ACCOUNT_ID = re.compile(r"\d{12}")
_CBOR_OPERATION = re.compile(r"/service/[^/]+/operation/([A-Za-z0-9]+)")


@dataclass(frozen=True)
class RequestInfo:
    service: str  # boto3 client name
    action: str
    account: str
    region: str
    protocol: str
    account_from_key: bool = False  # the account came from a 12-digit access key id


@functools.cache
def _model(service: str) -> Any:
    try:
        return botocore.session.get_session().get_service_model(service)
    except Exception:
        return None


def protocol_of(service: str) -> str:
    model = _model(service)
    if model is None:
        return "query"
    protocols = model.metadata.get("protocols") or [model.metadata.get("protocol", "query")]
    return str(protocols[0])


@functools.cache
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], list[str], int, str]]:
    """(method, path regex, required query keys, literal length, operation) for REST APIs."""
    model = _model(service)
    routes: list[tuple[str, re.Pattern[str], list[str], int, str]] = []
    if model is None:
        return routes
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri: str = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        pattern = ""
        literal = 0
        for piece in re.split(r"(\{[^}]+\})", path.rstrip("/")):
            if piece.startswith("{"):
                pattern += ".+" if piece.endswith("+}") else "[^/]+"
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        keys = [q.partition("=")[0] for q in query.split("&") if q]
        routes.append((http.get("method", "GET"), re.compile(pattern + "/?$"), keys, literal, name))
    routes.sort(key=lambda r: (-len(r[2]), -r[3]))
    return routes


def _rest_action(service: str, method: str, path: str, query: dict[str, list[str]]) -> str:
    for route_method, regex, keys, _, name in _rest_routes(service):
        if route_method == method and regex.match(path) and all(k in query for k in keys):
            return name
    return ""


def identify(environ: dict[str, Any], body: bytes) -> RequestInfo | None:
    """Read service, action, account and region from a signed AWS request (None: not one)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    found = _CREDENTIAL.search(auth)
    if not found:
        return None
    access_key, region, signing_name = found.group(1), found.group(2), found.group(3)
    service = canonical_service(signing_name)
    protocol = protocol_of(service)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    action = ""
    if protocol in ("query", "ec2"):
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        action = (form.get("Action") or query.get("Action") or [""])[0]
    elif protocol in ("json", "smithy-rpc-v2-cbor"):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            action = target.rpartition(".")[2]
        else:
            op = _CBOR_OPERATION.search(environ.get("PATH_INFO", ""))
            action = op.group(1) if op else ""
    else:
        action = _rest_action(
            service, environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""), query
        )
    account = environ.get("HTTP_X_MOTO_ACCOUNT_ID", "")
    from_key = False
    if not account:
        if _ACCOUNT_ID.fullmatch(access_key):
            account, from_key = access_key, True
        else:
            account = DEFAULT_ACCOUNT
    return RequestInfo(service, action or "Unknown", account, region, protocol, from_key)


def _cbor_text(value: str) -> bytes:
    raw = value.encode()
    n = len(raw)
    if n < 24:
        head = bytes([0x60 | n])
    elif n < 256:
        head = bytes([0x78, n])
    else:
        head = bytes([0x79]) + n.to_bytes(2, "big")
    return head + raw


def render_error(
    protocol: str, code: str, message: str, status: int
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An AWS error response in the wire format of ``protocol``: status, headers, body."""
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    sender = "Sender" if status < 500 else "Receiver"
    if protocol == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers.append(("Content-Type", "text/xml;charset=UTF-8"))
    elif protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers += [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif protocol == "smithy-rpc-v2-cbor":
        body = (
            bytes([0xA2])
            + _cbor_text("__type")
            + _cbor_text(code)
            + _cbor_text("message")
            + _cbor_text(message)
        )
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
    else:  # query, rest-xml
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>'
            f"<Type>{sender}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body


_XML_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_JSON_TYPE = re.compile(rb'"__type"\s*:\s*"([^"]+)"')
_CBOR_TYPE = re.compile(rb"f__type.([A-Za-z0-9.#:_-]+)")


def error_code_of(status: int, body: bytes) -> str | None:
    """The AWS error code of an error response (None for successes)."""
    if status < 300:
        return None
    for regex in (_XML_CODE, _JSON_TYPE, _CBOR_TYPE):
        found = regex.search(body)
        if found:
            return found.group(1).decode("utf-8", "replace").rpartition("#")[2]
    return f"HTTP{status}"
