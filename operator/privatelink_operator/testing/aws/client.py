"""The test side of the emulator: boto3 clients per account, faults, call log, delays, reset.

:class:`AwsEmulator` talks to a running emulator (started by :class:`EmulatorProcess`, the
pytest fixtures, or ``python -m privatelink_operator.testing.aws``) over HTTP only, so it works
the same from any process.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from .calllog import AwsCall, CallLog
from .faults import FaultRule
from .state import Delays

__all__ = [
    "CONSUMER_ACCOUNT",
    "DEFAULT_REGION",
    "PROVIDER_ACCOUNT",
    "AwsEmulator",
    "FaultsClient",
]

PROVIDER_ACCOUNT = "111111111111"
CONSUMER_ACCOUNT = "222222222222"
DEFAULT_REGION = "us-east-1"


class _Http:
    def __init__(self, endpoint_url: str) -> None:
        self.base = endpoint_url.rstrip("/")

    def request(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            raise RuntimeError(f"AWS emulator: {method} {path}: {error.code} {detail}") from None


class FaultsClient:
    """Fault rules of a running emulator. ``add`` returns the rule with its server id."""

    def __init__(self, http: _Http) -> None:
        self._http = http

    def add(self, *rules: FaultRule) -> list[FaultRule]:
        payload = [r.to_json() for r in rules]
        answer = self._http.request("POST", "/_emulator/faults", payload)
        return [FaultRule(**r) for r in answer["rules"]]

    def throttle(self, service: str, action: str = "*", **kwargs: Any) -> FaultRule:
        return self.add(FaultRule.throttle(service, action, **kwargs))[0]

    def server_error(self, service: str, action: str = "*", **kwargs: Any) -> FaultRule:
        return self.add(FaultRule.server_error(service, action, **kwargs))[0]

    def slow(self, service: str, action: str = "*", *, seconds: float, **kwargs: Any) -> FaultRule:
        return self.add(FaultRule.slow(service, action, seconds=seconds, **kwargs))[0]

    def rules(self) -> list[FaultRule]:
        answer = self._http.request("GET", "/_emulator/faults")
        return [FaultRule(**r) for r in answer["rules"]]

    def remove(self, rule: FaultRule | str) -> None:
        rule_id = rule if isinstance(rule, str) else rule.id
        self._http.request("DELETE", f"/_emulator/faults/{rule_id}")

    def clear(self) -> None:
        self._http.request("DELETE", "/_emulator/faults")

    @contextmanager
    def active(self, *rules: FaultRule) -> Iterator[list[FaultRule]]:
        """The rules hold inside the ``with`` block only."""
        added = self.add(*rules)
        try:
            yield added
        finally:
            for rule in added:
                with suppress(RuntimeError):
                    self.remove(rule)


class AwsEmulator:
    """A handle on a running emulator.

    ``client("ec2", account_id=CONSUMER_ACCOUNT)`` gives a boto3 client acting as that account
    (its access key id is the account id, which the emulator maps to the account, and it sends
    the ``x-moto-account-id`` header too). ``env(account_id)`` gives the environment variables
    that make any process (the operator, the AWS CLI) do the same.
    """

    def __init__(self, endpoint_url: str, region: str = DEFAULT_REGION) -> None:
        import boto3

        self.endpoint_url = endpoint_url
        self.region = region
        self._http = _Http(endpoint_url)
        self._session = boto3.session.Session()
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()
        self.faults = FaultsClient(self._http)
        self.calls = CallLog(
            fetch=self._fetch_calls,
            clear=lambda: self._http.request("DELETE", "/_emulator/calls"),
            last_seq=lambda: int(
                self._http.request("GET", "/_emulator/calls?since=latest")["last_seq"]
            ),
        )

    # -- boto3 ------------------------------------------------------------------------------
    def client(
        self,
        service: str,
        account_id: str = PROVIDER_ACCOUNT,
        *,
        region: str | None = None,
        max_attempts: int | None = None,
        retry_mode: str = "standard",
    ) -> Any:
        """A boto3 client for ``service`` acting as ``account_id`` (cached per arguments).

        ``max_attempts`` counts every attempt, the first included: ``max_attempts=1`` turns
        retries off, to see an injected fault as the caller would.
        """
        from botocore.config import Config

        key = (service, account_id, region or self.region, max_attempts, retry_mode)
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None:
                return cached
            retries: dict[str, Any] = {"mode": retry_mode}
            if max_attempts is not None:
                retries["total_max_attempts"] = max_attempts
            client = self._session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint_url,
                region_name=region or self.region,
                aws_access_key_id=account_id,
                aws_secret_access_key="emulated",
                config=Config(
                    retries=retries,  # type: ignore[arg-type]
                    connect_timeout=5,
                    read_timeout=60,
                ),
            )

            def add_account(request: Any, **_: Any) -> None:
                request.headers["x-moto-account-id"] = account_id

            client.meta.events.register("before-sign", add_account)
            self._clients[key] = client
            return client

    def env(self, account_id: str = PROVIDER_ACCOUNT) -> dict[str, str]:
        """Environment variables that point boto3/the AWS CLI at the emulator as ``account_id``."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": account_id,
            "AWS_SECRET_ACCESS_KEY": "emulated",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    # -- emulator control -------------------------------------------------------------------
    def reset(self) -> None:
        """Empty every account, drop fault rules and the call log, restore start-up delays."""
        self._http.request("POST", "/_emulator/reset")

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._http.request("GET", "/_emulator/health")
        return answer

    @property
    def delays(self) -> Delays:
        return Delays.from_json(self._http.request("GET", "/_emulator/delays"))

    def set_delays(self, **seconds: float) -> Delays:
        """E.g. ``set_delays(load_balancer=1.5, endpoint=0.5)``; others keep their values."""
        return Delays.from_json(self._http.request("POST", "/_emulator/delays", seconds))

    def _fetch_calls(self, since: int) -> list[AwsCall]:
        answer = self._http.request("GET", f"/_emulator/calls?since={since}")
        return [AwsCall.from_json(c) for c in answer["calls"]]
