"""An object's own AWS reads, kept between the passes of one convergence.

A pass that writes is followed, a second later, by one that reads everything again (the next
step of the chain often depends on what was just created). Most of those answers cannot have
changed: the pass that created the load balancer did not touch the endpoint service, and the
one that created the endpoint service did not touch the load balancer. :class:`ConvergeReads`
keeps the answers of one object's reads between its passes, and drops them where a write may
have changed them:

- a write to a service drops every kept answer of that service (a write to ELBv2 makes every
  ELBv2 read fresh in the next pass; EC2 and Route 53 answers stay);
- a Route 53 record this object just wrote is remembered as written (the next pass does not
  read back what it wrote: Route 53 allows 5 requests a second per account);
- answers in a transitional state are never kept: a load balancer that is not ``active``, an
  endpoint service that is not yet available or whose domain verification is pending, a
  certificate waiting for validation, targets that are not yet healthy;
- answers expire after ``max_age`` seconds.

It lives only while the object converges: the handlers drop it when a pass finds nothing to do,
stalls or fails, so a drift check (``provider.inventory``) and the pass after a failed write
read AWS afresh. Nothing here is shared between objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..aws import AwsCaller, AwsError
from .inventory import freeze
from .plan import Step

if TYPE_CHECKING:
    from .reconcile import Outcome

__all__ = ["NARROW", "ConvergeReads", "transitional"]

_READ_PREFIXES = ("describe_", "list_", "get_")


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _any(items: Iterable[Any], test: Callable[[Any], bool]) -> bool:
    return any(test(item) for item in items)


# Writes that change what one kind of read answers, and nothing else of their service. Any
# other write drops every kept answer of its service.
NARROW: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("ec2", "start_vpc_endpoint_service_private_dns_verification"): (
        ("ec2", "describe_vpc_endpoint_service_configurations"),
    ),
    ("ec2", "modify_vpc_endpoint_service_permissions"): (
        ("ec2", "describe_vpc_endpoint_service_permissions"),
    ),
    ("ec2", "accept_vpc_endpoint_connections"): (("ec2", "describe_vpc_endpoint_connections"),),
    ("ec2", "reject_vpc_endpoint_connections"): (("ec2", "describe_vpc_endpoint_connections"),),
    ("elbv2", "register_targets"): (("elbv2", "describe_target_health"),),
    ("elbv2", "deregister_targets"): (("elbv2", "describe_target_health"),),
    ("elbv2", "modify_target_group_attributes"): (("elbv2", "describe_target_group_attributes"),),
}


def transitional(service: str, operation: str, answer: Mapping[str, Any]) -> bool:
    """Whether ``answer`` shows something AWS is still changing by itself (not to be kept)."""
    if operation == "describe_load_balancers":
        return _any(
            answer.get("LoadBalancers", []),
            lambda lb: (lb.get("State") or {}).get("Code", "active") != "active",
        )
    if operation == "describe_vpc_endpoint_service_configurations":

        def changing(config: Mapping[str, Any]) -> bool:
            state = str(config.get("ServiceState", "Available")).lower()
            dns = str((config.get("PrivateDnsNameConfiguration") or {}).get("State", "")).lower()
            return state not in ("available", "failed") or dns == "pendingverification"

        return _any(answer.get("ServiceConfigurations", []), changing)
    if operation == "describe_certificate":
        status = (answer.get("Certificate") or {}).get("Status", "")
        return status in ("PENDING_VALIDATION", "")
    if operation == "describe_target_health":
        return _any(
            answer.get("TargetHealthDescriptions", []),
            lambda d: (d.get("TargetHealth") or {}).get("State") in ("initial", "draining"),
        )
    if operation == "describe_vpc_endpoint_connections":
        return _any(
            answer.get("VpcEndpointConnections", []),
            lambda c: (
                str(c.get("VpcEndpointState", "")).lower()
                in ("pending", "pendingacceptance", "deleting")
            ),
        )
    return False


class ConvergeReads:
    """``call`` for one object's passes while it converges (see the module's text).

    Only reads go through it; :meth:`wrote` is told what each pass wrote.
    """

    def __init__(
        self,
        aws: AwsCaller,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.aws = aws
        self.max_age = max_age
        self.clock = clock
        self._answers: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def call(self, service: str, operation: str, **params: Any) -> Any:
        if not operation.startswith(_READ_PREFIXES):
            raise RuntimeError(f"{operation}: ConvergeReads only reads")
        key = (service, operation, freeze(params))
        now = self.clock()
        with self._lock:
            hit = self._answers.get(key)
        if hit is not None and now - hit[0] < self.max_age:
            self.hits += 1
            if isinstance(hit[1], AwsError):
                raise hit[1]
            return hit[1]
        self.misses += 1
        try:
            answer = self.aws.call(service, operation, **params)
        except AwsError as exc:
            # "Not found" is an answer like any other (the next write to the service drops it).
            if exc.kind == "not_found":
                with self._lock:
                    self._answers[key] = (now, exc)
            raise
        if not transitional(service, operation, answer):
            with self._lock:
                self._answers[key] = (now, answer)
        return answer

    def kept(self) -> list[tuple[Any, float, Any]]:
        """The answers kept now: ``(key, when read, answer)``, errors left out."""
        with self._lock:
            return [
                (key, at, answer)
                for key, (at, answer) in self._answers.items()
                if not isinstance(answer, AwsError)
            ]

    def after_pass(self, outcome: Outcome) -> bool:
        """Account for a pass's writes; whether the object's next pass should use this cache.

        Yes while it converges (the pass wrote, or waits for AWS); no when it is done, stalled
        (a write failed or the spec is wrong): the next pass then reads AWS afresh.
        """
        if outcome.plan.stall is not None or not (outcome.done or outcome.plan.waits):
            return False
        self.wrote(d.step for d in outcome.done)
        return True

    def wrote(self, steps: Iterable[Step]) -> None:
        """Drop what the writes of ``steps`` may have changed; remember records written."""
        steps = list(steps)
        whole = {s.service for s in steps if (s.service, s.operation) not in NARROW}
        reads = {r for s in steps for r in NARROW.get((s.service, s.operation), ())}
        with self._lock:
            for key in [k for k in self._answers if k[0] in whole or k[:2] in reads]:
                del self._answers[key]
        for step in steps:
            if step.service == "route53" and step.operation == "change_resource_record_sets":
                self._remember_records(step.params)

    def _remember_records(self, params: Mapping[str, Any]) -> None:
        zone = params.get("HostedZoneId")
        changes = (params.get("ChangeBatch") or {}).get("Changes") or []
        if not isinstance(zone, str):
            return
        now = self.clock()
        for change in changes:
            record = change.get("ResourceRecordSet") or {}
            name, rtype = record.get("Name"), record.get("Type")
            if not isinstance(name, str) or not isinstance(rtype, str):
                continue
            written = change.get("Action") in ("UPSERT", "CREATE")
            answer = {
                "ResourceRecordSets": [{**record, "Name": _fqdn(name)}] if written else [],
                "IsTruncated": False,
                "MaxItems": "1",
            }
            key = (
                "route53",
                "list_resource_record_sets",
                freeze(
                    {
                        "HostedZoneId": zone.rsplit("/", 1)[-1],
                        "StartRecordName": _fqdn(name),
                        "StartRecordType": rtype,
                        "MaxItems": "1",
                    }
                ),
            )
            with self._lock:
                self._answers[key] = (now, answer)

    def size(self) -> int:
        with self._lock:
            return len(self._answers)
