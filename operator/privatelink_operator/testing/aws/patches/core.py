"""Shared helpers for the patches: errors, cross-account backend lookups, crash reporting."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import BaseResponse

from ..app import LAST_ERROR

__all__ = ["AwsError", "apply", "backends_in_region", "response_method"]


class AwsError(ServiceException):
    """An AWS error moto serialises in the service's protocol (status from the API model).

    Defined here, outside moto's packages, so that moto looks its code up in the model of the
    service being called (for a class of ``moto.core`` it would look for a service "core").
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def backends_in_region(backend_dict: Any, region: str) -> Iterator[tuple[str, Any]]:
    """(account, backend) of every account that already has a backend in ``region``."""
    for account_id, per_account in list(dict.items(backend_dict)):
        backend = dict.get(per_account, region)
        if backend is not None:
            yield account_id, backend


def response_method(cls: Any, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Install the decorated function as action handler ``name`` on a moto response class."""

    def install(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__name__ = name
        setattr(cls, name, func)
        return func

    return install


def apply() -> None:
    original: Callable[[Any], Any] = BaseResponse.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        try:
            return original(self)
        except Exception as error:
            # Flask turns this into an HTML 500; the front door answers a clear 4xx instead.
            LAST_ERROR.kind = type(error).__name__
            LAST_ERROR.message = str(error)
            raise

    setattr(BaseResponse, "call_action", call_action)  # noqa: B010
