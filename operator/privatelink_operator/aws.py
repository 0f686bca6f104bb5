"""boto3 clients, retries, call counting, and the one place that classifies AWS errors.

Throttling and 5xx are retried by botocore (legacy mode: bounded attempts with exponential
backoff and jitter, and no retry quota: standard mode's quota of 500 per client, 14 per retried
5xx, runs dry under sustained server errors and then stops retrying at all); what still fails
reaches ``classify``: ``Retry`` (come back later), ``NotFound`` (an answer, not an error), or
``UserError`` (only a spec change helps: the object is Stalled with the AWS code as reason).

Before AWS can throttle, a client-side :class:`RateLimiter` paces every HTTP attempt with token
buckets per service and operation class (``elbv2:Describe*=50:200``: 50 calls/s, burst 200),
so a burst of hundreds of new objects queues here instead of tripping AWS's limits. The
buckets adapt: AWS's limits are per account, shared with every other client in it, so when AWS
throttles a call anyway its bucket halves its rate, and climbs back to the configured rate as
answers come without throttling.
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import boto3
import botocore.config
import botocore.exceptions
import botocore.utils

from . import awsmodels, metrics, pagememo

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
            context["plo_model"] = model  # after-call-error does not pass the model

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
        self, exception: Any = None, context: Any = None, model: Any = None, **_: Any
    ) -> None:
        """A call that got no AWS answer (connection refused, timeout after the retries)."""
        model = model or (context.get("plo_model") if isinstance(context, dict) else None)
        if model is not None:
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


# -- client-side rate limits ------------------------------------------------------------------

# Environment variable with the same syntax as ``run --aws-api-throttle``.
THROTTLE_ENV = "PLO_AWS_API_THROTTLE"

# Defaults, first match wins. ELBv2 as the AWS Load Balancer Controller paces it (Describe* 50/s
# burst 200, Modify* 3/s); EC2 as AWS's documented buckets (non-mutating: refill 20/s, bucket
# 100; mutating: refill 5/s, bucket 200); Route 53's 5 requests/s per account; ACM's
# per-account rates (Describe* 10/s, the rest about 5/s).
DEFAULT_THROTTLE = (
    "elbv2:Describe*=50:200,"
    "elbv2:Modify*|Set*=3:10,"
    "elbv2:Register*|Deregister*=4:20,"
    "elbv2:*=10:40,"
    "ec2:Describe*=20:100,"
    "ec2:*=5:200,"
    "route53:*=5:10,"
    "acm:Describe*|List*|Get*=10:20,"
    "acm:*=5:10"
)


@dataclass(frozen=True)
class ThrottleRule:
    """``service:pattern[|pattern...]=rate:burst``; patterns are shell globs on operation names."""

    service: str
    patterns: tuple[str, ...]
    rate: float  # tokens per second
    burst: float  # bucket size

    def matches(self, service: str, operation: str) -> bool:
        return self.service in (service, "*") and any(
            fnmatch.fnmatchcase(operation, p) for p in self.patterns
        )

    @property
    def key(self) -> str:
        return f"{self.service}:{'|'.join(self.patterns)}"


def parse_throttle(spec: str) -> list[ThrottleRule]:
    """``"elbv2:Describe*=50:200,ec2:*=5:200"`` -> rules; ``"off"``/``"none"``/``""``: none."""
    rules = []
    spec = spec.strip()
    if spec.lower() in ("", "off", "none"):
        return []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            target, numbers = part.rsplit("=", 1)
            service, patterns = target.split(":", 1)
            rate_text, _, burst_text = numbers.partition(":")
            rate = float(rate_text)
            burst = float(burst_text) if burst_text else max(1.0, rate)
        except ValueError:
            raise ValueError(
                f"bad throttle rule {part!r}: expected SERVICE:OPERATION[|OPERATION]=RATE[:BURST], "
                "e.g. elbv2:Describe*=50:200"
            ) from None
        if rate <= 0 or burst < 1:
            raise ValueError(f"bad throttle rule {part!r}: rate must be > 0 and burst >= 1")
        rules.append(
            ThrottleRule(
                service.strip(), tuple(p.strip() for p in patterns.split("|")), rate, burst
            )
        )
    return rules


def throttle_rules(spec: str | None = None) -> list[ThrottleRule]:
    """The given rules (or ``$PLO_AWS_API_THROTTLE``) first, then the defaults.

    ``off`` turns client-side limits off altogether.
    """
    if spec is None:
        spec = os.environ.get(THROTTLE_ENV, "")
    if spec.strip().lower() in ("off", "none"):
        return []
    return [*parse_throttle(spec), *parse_throttle(DEFAULT_THROTTLE)]


# How low a bucket's rate may adapt when AWS throttles (a fraction of the configured rate).
MIN_RATE_FRACTION = 1 / 8


class TokenBucket:
    """A token bucket that hands out reservations: callers wait in arrival order, never spin."""

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.max_rate = rate
        self.min_rate = rate * MIN_RATE_FRACTION
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; the seconds to wait before using it (0: at once)."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Wait for a token; returns the seconds waited."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay

    # Adaptive: AWS's limits are per account, shared with every other client of it. When AWS
    # throttles one of our calls anyway, the bucket halves its rate and empties (others
    # are using the account's budget); every answer that is not throttling gives back a
    # fiftieth of the configured rate, up to it (additive increase, multiplicative decrease).

    def throttled(self) -> None:
        with self._lock:
            self._refill()
            self.rate = max(self.min_rate, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)

    def answered(self) -> None:
        with self._lock:
            if self.rate < self.max_rate:
                self._refill()
                self.rate = min(self.max_rate, self.rate + self.max_rate / 50)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now


@dataclass
class RateLimiter:
    """One :class:`TokenBucket` per rule (an operation class), shared by its operations."""

    rules: Sequence[ThrottleRule] = ()
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    waited: dict[str, float] = field(default_factory=dict)  # seconds waited, by rule
    taken: Counter[str] = field(default_factory=Counter)  # tokens taken, by rule
    throttled: Counter[str] = field(default_factory=Counter)  # AWS throttled anyway, by rule
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rule_for(self, service: str, operation: str) -> ThrottleRule | None:
        return next((r for r in self.rules if r.matches(service, operation)), None)

    def acquire(self, service: str, operation: str) -> float:
        rule = self.rule_for(service, operation)
        if rule is None:
            return 0.0
        with self._lock:
            bucket = self._buckets.get(rule.key)
            if bucket is None:
                bucket = TokenBucket(rule.rate, rule.burst, self.clock, self.sleep)
                self._buckets[rule.key] = bucket
        delay = bucket.acquire()
        with self._lock:
            self.taken[rule.key] += 1
            if delay > 0:
                self.waited[rule.key] = self.waited.get(rule.key, 0.0) + delay
        return delay

    def feedback(self, service: str) -> Callable[..., None]:
        """A botocore ``needs-retry`` handler: every answer tells its bucket whether AWS
        throttled it (:meth:`TokenBucket.throttled`) or not."""

        def needs_retry(response: Any = None, operation: Any = None, **_: Any) -> None:
            if operation is None or not isinstance(response, tuple) or len(response) != 2:
                return  # no answer at all (a connection error): says nothing of the rate
            rule = self.rule_for(service, str(operation.name))
            if rule is None:
                return
            with self._lock:
                bucket = self._buckets.get(rule.key)
            if bucket is None:
                return
            parsed = response[1] if isinstance(response[1], dict) else {}
            if parsed.get("Error", {}).get("Code") in metrics.THROTTLING_CODES:
                bucket.throttled()
                with self._lock:
                    self.throttled[rule.key] += 1
            else:
                bucket.answered()

        return needs_retry

    def hook(self, service: str) -> Callable[..., None]:
        """A botocore ``before-send`` handler: every HTTP attempt (retries too) takes a token."""

        def before_send(event_name: str = "", **_: Any) -> None:
            self.acquire(service, event_name.rsplit(".", 1)[-1])

        return before_send


def fast_timestamp(value: Any) -> datetime.datetime:
    """botocore's ``parse_timestamp``, with a fast path for ISO 8601 with a time zone."""
    if isinstance(value, str) and "T" in value:
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    result: datetime.datetime = botocore.utils.parse_timestamp(value)
    return result


class AwsCaller(Protocol):
    """What readers need: ``call(service, operation, **params)`` (AwsClients, a shared view)."""

    def call(self, service: str, operation: str, **params: Any) -> Any: ...


class AwsClients:
    """One boto3 client per service, shared by all reconciles (boto3 clients are thread-safe).

    ``throttle``: client-side rate limits (:func:`parse_throttle` syntax, before the defaults;
    ``"off"``: none); None reads ``$PLO_AWS_API_THROTTLE``. The clients load the trimmed
    service models of :mod:`.awsmodels` (``$PLO_FULL_AWS_MODELS=1``: botocore's full ones); a
    given ``session`` is set up for them too.
    """

    def __init__(
        self,
        region: str | None = None,
        session: boto3.Session | None = None,
        max_attempts: int = 6,
        endpoint_urls: Mapping[str, str] | None = None,
        throttle: str | None = None,
    ) -> None:
        self.session = session or boto3.Session(region_name=region)
        # Trimmed service-2 models (only the operations the operator calls): about 21 MB less
        # resident than botocore's full ones. Before any client: the loader caches what it read.
        self.trimmed_models = awsmodels.install(self.session._session)
        # ISO 8601 timestamps (every one the operator's APIs return) without dateutil: a tenth
        # of a drift snapshot's CPU went to parsing the dates of describes.
        # And a drift snapshot's pages that AWS answers as last time are not parsed again
        # (pagememo): about a third of a steady snapshot's CPU at N=1000.
        self.parsers = pagememo.ReusingParsers()
        self.parsers.set_parser_defaults(timestamp_parser=fast_timestamp)
        self.session._session.register_component("response_parser_factory", self.parsers)
        self.region = self.session.region_name or region or "us-east-1"
        self.counter = CallCounter()
        self.limiter = RateLimiter(throttle_rules(throttle))
        self._endpoint_urls = dict(endpoint_urls or {})
        self._config = botocore.config.Config(
            region_name=self.region,
            retries={"mode": "legacy", "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra="privatelink-operator",
            # As many connections as passes in flight (handlers.CONFIG.workers), so none waits
            # for a pooled connection while another waits for a rate-limit token.
            max_pool_connections=32,
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
                events.register("before-send", self.limiter.hook(service))
                events.register("needs-retry", self.limiter.feedback(service))
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
            answer = getattr(self.client(service), operation)(**params)
        except botocore.exceptions.BotoCoreError as exc:
            raise classify(exc, operation) from exc
        except botocore.exceptions.ClientError as exc:
            raise classify(exc, operation) from exc
        # Request id, HTTP headers and status: about 1 KB an answer that nothing reads, and
        # answers are kept (drift snapshots, converging objects' reads).
        if isinstance(answer, dict):
            answer.pop("ResponseMetadata", None)
        return answer
