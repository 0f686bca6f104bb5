"""Decoding the few protobuf request bodies kubectl sends (vnd.kubernetes.protobuf).

kubectl's typed clients (``kubectl create namespace|configmap|secret``) POST protobuf and accept
JSON back. This decodes kube's envelope (``k8s\\0`` + ``runtime.Unknown``) and the messages of
those kinds into their JSON form; other kinds are answered 415 like an unknown media type.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

__all__ = ["PROTOBUF", "ProtobufError", "decode"]

PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


Schema = dict[int, tuple[str, Any]]

_TIME: Schema = {1: ("seconds", "int"), 2: ("nanos", "int")}
_OWNER: Schema = {
    1: ("kind", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
_META: Schema = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    5: ("uid", "string"),
    6: ("resourceVersion", "string"),
    7: ("generation", "int"),
    8: ("creationTimestamp", _TIME),
    11: ("labels", "map_string"),
    12: ("annotations", "map_string"),
    13: ("ownerReferences", ("repeated", _OWNER)),
    14: ("finalizers", "repeated_string"),
}
_KINDS: dict[tuple[str, str], Schema] = {
    ("v1", "Namespace"): {
        1: ("metadata", _META),
        2: ("spec", {1: ("finalizers", "repeated_string")}),
    },
    ("v1", "ConfigMap"): {
        1: ("metadata", _META),
        2: ("data", "map_string"),
        3: ("binaryData", "map_bytes"),
        4: ("immutable", "bool"),
    },
    ("v1", "ServiceAccount"): {
        1: ("metadata", _META),
        4: ("automountServiceAccountToken", "bool"),
    },
    ("v1", "Secret"): {
        1: ("metadata", _META),
        2: ("data", "map_bytes"),
        3: ("type", "string"),
        4: ("stringData", "map_string"),
        5: ("immutable", "bool"),
    },
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            fields.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            fields.append((number, data[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return fields


def _map_entry(raw: bytes) -> tuple[str, bytes]:
    entry = dict(_fields(raw))
    key, value = entry.get(1, b""), entry.get(2, b"")
    if not isinstance(key, bytes) or not isinstance(value, bytes):
        raise ProtobufError("malformed map entry")
    return key.decode(), value


def _message(data: bytes, schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind == "int" or kind == "bool":
            if not isinstance(value, int):
                raise ProtobufError(f"{name}: expected a varint")
            out[name] = bool(value) if kind == "bool" else value
            continue
        if not isinstance(value, bytes):
            raise ProtobufError(f"{name}: expected bytes")
        if kind == "string":
            out[name] = value.decode()
        elif kind == "repeated_string":
            out.setdefault(name, []).append(value.decode())
        elif kind in ("map_string", "map_bytes"):
            key, item = _map_entry(value)
            text = item.decode() if kind == "map_string" else base64.b64encode(item).decode()
            out.setdefault(name, {})[key] = text
        elif isinstance(kind, tuple):
            out.setdefault(name, []).append(_message(value, kind[1]))
        elif kind is _TIME:
            seconds = _message(value, _TIME).get("seconds", 0)
            moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
            out[name] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            out[name] = _message(value, kind)
    return out


def decode(data: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object of a supported kind."""
    if not data.startswith(_MAGIC):
        raise ProtobufError("missing the k8s protobuf envelope")
    unknown = dict(_fields(data[len(_MAGIC) :]))
    type_meta, raw = unknown.get(1, b""), unknown.get(2, b"")
    if not isinstance(type_meta, bytes) or not isinstance(raw, bytes):
        raise ProtobufError("malformed envelope")
    meta = {n: v.decode() for n, v in _fields(type_meta) if isinstance(v, bytes)}
    api_version, kind = meta.get(1, ""), meta.get(2, "")
    schema = _KINDS.get((api_version, kind))
    if schema is None:
        raise ProtobufError(f"protobuf is not supported for {kind} ({api_version})")
    return {"apiVersion": api_version, "kind": kind, **_message(raw, schema)}
