"""A trivial kopf operator for the emulator's lifecycle test (loaded by ``kopf run``)."""

from __future__ import annotations

from typing import Any

import kopf

GROUP, VERSION, PLURAL = "example.dev", "v1", "widgets"


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.watching.server_timeout = 60
    settings.persistence.finalizer = "example.dev/finalizer"


@kopf.on.create(GROUP, VERSION, PLURAL)
def created(body: kopf.Body, spec: Any, patch: kopf.Patch, **_: Any) -> dict[str, Any]:
    kopf.info(body, reason="Hello", message="the create handler ran")
    patch.status["phase"] = "Created"
    return {"size": spec.get("size", 0)}


@kopf.timer(GROUP, VERSION, PLURAL, interval=0.2, initial_delay=0.1)
def ticking(status: Any, patch: kopf.Patch, **_: Any) -> None:
    patch.status["ticks"] = int(status.get("ticks", 0)) + 1


@kopf.on.delete(GROUP, VERSION, PLURAL)
def deleted(body: kopf.Body, **_: Any) -> None:
    kopf.info(body, reason="Farewell", message="the delete handler ran")
