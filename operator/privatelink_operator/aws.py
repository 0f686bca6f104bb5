"""boto3 clients, retries, call counting, and the one place that classifies AWS errors.

Throttling and 5xx are retried by botocore (adaptive mode, bounded attempts); what still fails
reaches ``classify``: ``Retry`` (come back later), ``NotFound`` (an answer, not an error), or
``UserError`` (only a spec change helps: the object is Stalled with the AWS code as reason).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import botocore.config
import botocore.exceptions

from . import metrics

SERVICES = ("ec2", "elbv2", "acm", "route53", "sts")

ErrorKind = Literal["retry", "not_found", "user", "conflict", "access"]

_RETRY_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "PriorRequestNotComplete",
    "ServiceUnavailable",
    "Unavailable",
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "RequestExpired",
}
_CONFLICT_CODES = {
    "ResourceInUse",
    "ResourceInUseException",
    "DependencyViolation",
    "IncorrectState",
    "InvalidState",
    "OperationNotPermitted",
    "ConcurrentModification",
}
_ACCESS_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_USER_CODES = {
    "ValidationError",
    "ValidationException",
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidParameterException",
    "InvalidSubnet",
    "InvalidSubnetID.NotFound",
    "InvalidSecurityGroup",
    "InvalidGroup.NotFound",
    "InvalidVpcID.NotFound",
    "InvalidServiceName",
    "InvalidConfigurationRequest",
    "InvalidTarget",
    "UnsupportedProtocol",
    "UnsupportedCertificate",
    "CertificateNotFound",
    "SSLPolicyNotFound",
    "ALPNPolicyNotFound",
    "DuplicateLoadBalancerName",
    "DuplicateTargetGroupName",
    "DuplicateListener",
    "TooManyLoadBalancers",
    "TooManyTargetGroups",
    "TooManyTargets",
    "TooManyTags",
    "LimitExceededException",
    "InvalidDomainValidationOptionsException",
    "InvalidChangeBatch",
    "NoSuchHostedZone",
    "InvalidInput",
    "VpcEndpointServiceLimitExceeded",
}


@dataclass(frozen=True)
class AwsError(Exception):
    """An AWS error that reached the reconciler, classified."""

    kind: ErrorKind
    code: str
    message: str
    operation: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.code}: {self.message}"


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "Unknown"))
    return type(exc).__name__


def classify(exc: BaseException, operation: str = "") -> AwsError:
    """The single mapping from AWS errors to what the reconciler does about them."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        op = operation or str(getattr(exc, "operation_name", ""))
        kind: ErrorKind
        if code in _RETRY_CODES or status >= 500:
            kind = "retry"
        elif code in _ACCESS_CODES:
            kind = "access"
        elif code in _CONFLICT_CODES:
            kind = "conflict"
        elif code in _USER_CODES:
            # Before the NotFound rule: InvalidSubnetID.NotFound and the like name something
            # the user wrote in the spec, which only a spec change fixes.
            kind = "user"
        elif code.endswith("NotFound") or code.endswith("NotFoundException") or "NotFound" in code:
            kind = "not_found"
        elif status == 400:
            kind = "user"
        else:
            kind = "retry"
        return AwsError(kind, code, message, op)
    if isinstance(
        exc,
        botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectionClosedError
        | botocore.exceptions.ReadTimeoutError
        | botocore.exceptions.ConnectTimeoutError,
    ):
        return AwsError("retry", type(exc).__name__, str(exc), operation)
    raise exc


class CallCounter:
    """Counts AWS calls by (service, operation), retries and throttles, for metrics and tests.

    Hooked on botocore's events: ``before-call``/``after-call``/``after-call-error`` see each
    call as the code made it (after retries), ``needs-retry`` sees every HTTP attempt. Every
    observation is also reported to :mod:`.metrics`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.retries: Counter[tuple[str, str]] = Counter()
        self.throttles: Counter[tuple[str, str]] = Counter()
        self.errors: Counter[tuple[str, str, str]] = Counter()

    @staticmethod
    def _key(model: Any) -> tuple[str, str]:
        return (str(model.service_model.service_name), str(model.name))

    def _on_call(self, model: Any, context: Any = None, **_: Any) -> None:
        with self._lock:
            self.calls[self._key(model)] += 1
        if isinstance(context, dict):
            context["plo_started"] = time.monotonic()

    def _finish(self, model: Any, context: Any, code: str | None) -> None:
        started = context.get("plo_started") if isinstance(context, dict) else None
        seconds = time.monotonic() - started if isinstance(started, float) else 0.0
        service, operation = self._key(model)
        if code is not None:
            with self._lock:
                self.errors[(service, operation, code)] += 1
        metrics.observe_aws_call(service, operation, seconds, code)

    def _on_after_call(
        self,
        model: Any,
        http_response: Any = None,
        parsed: Any = None,
        context: Any = None,
        **_: Any,
    ) -> None:
        status = int(getattr(http_response, "status_code", 200) or 200)
        code = None
        if status >= 300:
            error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
            code = str(error.get("Code") or f"HTTP{status}")
        self._finish(model, context, code)

    def _on_call_error(
        self, model: Any, exception: Any = None, context: Any = None, **_: Any
    ) -> None:
        self._finish(model, context, type(exception).__name__)

    def _on_retry(
        self, attempts: int = 0, operation: Any = None, response: Any = None, **_: Any
    ) -> None:
        if not attempts or operation is None:
            return
        key = self._key(operation)
        code = None
        if isinstance(response, tuple) and len(response) == 2 and isinstance(response[1], dict):
            code = response[1].get("Error", {}).get("Code")
        with self._lock:
            if attempts > 1:
                self.retries[key] += 1
            if code in metrics.THROTTLING_CODES:
                self.throttles[key] += 1
        metrics.observe_aws_attempt(key[0], key[1], attempts, code)

    def writes(self) -> Counter[tuple[str, str]]:
        return Counter({k: v for k, v in self.calls.items() if not is_read(k[1])})


def is_read(operation: str) -> bool:
    return operation.startswith(("Describe", "List", "Get"))


class AwsClients:
    """One boto3 client per service, shared by all reconciles (boto3 clients are thread-safe)."""

    def __init__(
        self,
        region: str | None = None,
        session: boto3.Session | None = None,
        max_attempts: int = 6,
        endpoint_urls: Mapping[str, str] | None = None,
    ) -> None:
        self.session = session or boto3.Session(region_name=region)
        self.region = self.session.region_name or region or "us-east-1"
        self.counter = CallCounter()
        self._endpoint_urls = dict(endpoint_urls or {})
        self._config = botocore.config.Config(
            region_name=self.region,
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra="privatelink-operator",
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                kwargs: dict[str, Any] = {"config": self._config}
                if service in self._endpoint_urls:
                    kwargs["endpoint_url"] = self._endpoint_urls[service]
                client = self.session.client(service, **kwargs)  # type: ignore[call-overload]
                events = client.meta.events
                events.register("before-call", self.counter._on_call)
                events.register("after-call", self.counter._on_after_call)
                events.register("after-call-error", self.counter._on_call_error)
                events.register("needs-retry", self.counter._on_retry)
                self._clients[service] = client
            return self._clients[service]

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def elbv2(self) -> Any:
        return self.client("elbv2")

    @property
    def acm(self) -> Any:
        return self.client("acm")

    @property
    def route53(self) -> Any:
        return self.client("route53")

    def call(self, service: str, operation: str, **params: Any) -> Any:
        """Call ``operation`` (a boto3 method name) and classify any error."""
        try:
            return getattr(self.client(service), operation)(**params)
        except botocore.exceptions.BotoCoreError as exc:
            raise classify(exc, operation) from exc
        except botocore.exceptions.ClientError as exc:
            raise classify(exc, operation) from exc
