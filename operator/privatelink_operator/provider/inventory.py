"""A shared, read-only view of what the cluster owns in AWS, for drift checks at scale.

Per-object drift checks would read AWS about 16 times per object and period. Instead, one
:class:`Inventory` per operator takes a :class:`Snapshot` at most once per ``max_age``: paginated
describes of every load balancer, target group and their tags (in batches of 20), of the
endpoint services carrying our cluster tag and of their connections. A
drift pass reads through a :class:`SharedView` (the same ``call`` interface as
:class:`~privatelink_operator.aws.AwsClients`): what the snapshot holds is answered from it, any
other read goes to AWS once per snapshot (a certificate or a hosted zone many objects share is
read once), and lists of a hosted zone's records are read whole, once.

Only a pass that finds nothing to do may end on the view: a pass that would write reads again
from AWS first (``reconcile_service``), so no write ever rests on a snapshot. An object that
changed after the snapshot was taken reads from AWS directly (``Inventory.view``).
"""

from __future__ import annotations

import contextlib
import heapq
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..aws import AwsCaller, AwsError
from ..ownership import TAG_CLUSTER
from ..pagememo import new_round, reused_pages

__all__ = [
    "DETAIL_BUDGET",
    "STABLE",
    "Inventory",
    "SharedView",
    "Snapshot",
    "StableReads",
    "TagCache",
    "freeze",
]

# Reads whose answers do not change while an object converges (a subnet's VPC, a hosted zone's
# name and privacy): every pass, fresh ones included, may take them from a short-lived cache.
STABLE = frozenset(
    {
        ("ec2", "describe_subnets"),
        ("route53", "get_hosted_zone"),
        ("route53", "list_hosted_zones"),
    }
)


# What Snapshot.peek answers for a read it cannot answer without AWS.
NEEDS_AWS: Any = object()


def _same(a: Any, b: Any) -> bool:
    """Answers alike: equal, or the same error (an error is a new object per snapshot)."""
    if isinstance(a, AwsError) or isinstance(b, AwsError):
        return type(a) is type(b) and (a.kind, a.code, str(a)) == (b.kind, b.code, str(b))
    return bool(a == b)


def freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


class Gates:
    """One lock per key: of many threads that miss the same cached answer at once, one reads
    AWS and the others wait for its answer (no stampede when a shared answer expires)."""

    def __init__(self) -> None:
        self._gates: dict[Any, threading.Lock] = {}
        self._lock = threading.Lock()

    def __call__(self, key: Any) -> threading.Lock:
        with self._lock:
            gate = self._gates.get(key)
            if gate is None:
                if len(self._gates) > 10_000:
                    self._gates.clear()
                gate = self._gates[key] = threading.Lock()
            return gate


def _filters(params: Mapping[str, Any]) -> dict[str, list[str]]:
    return {f["Name"]: list(f.get("Values", [])) for f in params.get("Filters", []) or []}


# Reads of one resource at a time, for which AWS has no batch form. In a drift check each
# answer is reused until it is older than ``Details.age_limit``, which grows with the number of
# objects so that about ``budget`` objects' details are read per snapshot: steady-state reads
# stay flat as N grows, and a drift of targets, target group attributes or permissions is seen
# within ``ceil(N / budget)`` snapshots (every period while N <= budget).
DETAILS = frozenset(
    {
        ("elbv2", "describe_target_health"),
        ("elbv2", "describe_target_group_attributes"),
        ("ec2", "describe_vpc_endpoint_service_permissions"),
    }
)


# Objects whose details a snapshot reads again, at most, by default.
DETAIL_BUDGET = 10


class Details:
    """The last answers of :data:`DETAILS` reads made by drift checks, by object."""

    def __init__(self, budget: int, clock: Callable[[], float]) -> None:
        self.budget = max(1, budget)
        self.clock = clock
        self._answers: dict[Any, tuple[float, Any]] = {}
        self._keys: dict[str, set[Any]] = {}
        self._lock = threading.Lock()

    def age_limit(self, max_age: float) -> float:
        with self._lock:
            objects = len(self._keys)
        return max_age * max(1, -(-objects // self.budget))

    def get(self, key: Any, limit: float) -> Any:
        with self._lock:
            hit = self._answers.get(key)
        if hit is not None and self.clock() - hit[0] < limit:
            return hit[1]
        return None

    def put(self, uid: str, key: Any, answer: Any, at: float | None = None) -> None:
        with self._lock:
            self._answers[key] = (self.clock() if at is None else at, answer)
            self._keys.setdefault(uid, set()).add(key)

    def forget(self, uid: str) -> None:
        with self._lock:
            for key in self._keys.pop(uid, set()):
                self._answers.pop(key, None)


class TagCache:
    """ELBv2 tags by ARN, as snapshots and passes last read them.

    A snapshot reads the tags of ARNs it has never seen, and of at most ``budget`` of the
    others, the longest unread first (those read within ``max_age`` are not read again): at
    N=1000 a snapshot makes 2 DescribeTags calls, not 150; tags changed outside the operator on
    a resource it owns are seen within ``ceil(3N / budget)`` snapshots.
    """

    def __init__(self, budget: int, max_age: float) -> None:
        self.budget = max(20, budget)
        self.max_age = max_age
        self._tags: dict[str, tuple[float, list[dict[str, str]]]] = {}
        self._lock = threading.Lock()

    def due(self, arns: list[str], now: float) -> list[str]:
        """The ARNs a snapshot at ``now`` reads tags of."""
        with self._lock:
            known = {a: self._tags[a][0] for a in arns if a in self._tags}
        new = [a for a in arns if a not in known]
        old = heapq.nsmallest(
            self.budget, ((at, a) for a, at in known.items() if now - at >= self.max_age)
        )
        return sorted(new + [a for _, a in old])

    def update(self, tags: Mapping[str, list[dict[str, str]]], now: float, keep: list[str]) -> None:
        """Tags just read at ``now``; ARNs not in ``keep`` (gone from AWS) are forgotten."""
        with self._lock:
            for arn, value in tags.items():
                self._tags[arn] = (now, list(value))
            alive = set(keep)
            for arn in [a for a in self._tags if a not in alive]:
                del self._tags[arn]

    def put(self, arn: str, tags: list[dict[str, str]], at: float) -> None:
        with self._lock:
            if arn not in self._tags or self._tags[arn][0] < at:
                self._tags[arn] = (at, list(tags))

    def tags(self, arns: list[str]) -> dict[str, list[dict[str, str]]]:
        with self._lock:
            return {a: self._tags[a][1] for a in arns if a in self._tags}


class Snapshot:
    """What AWS held at ``taken_at`` (monotonic seconds), read in shared batches."""

    def __init__(
        self,
        aws: AwsCaller,
        cluster: str,
        clock: Callable[[], float],
        known_listeners: Mapping[str, list[str]] | None = None,
        details: Details | None = None,
        detail_age: float = 0.0,
        tag_cache: TagCache | None = None,
    ) -> None:
        self.aws = aws
        self.details = details
        self.tag_cache = tag_cache
        self.detail_age = detail_age
        self.cluster = cluster
        self.taken_at = clock()
        # Listener ARNs by load balancer ARN, learnt from earlier per-object reads
        # (DescribeListeners takes one load balancer, or listener ARNs: known ones are batched).
        self.known_listeners = dict(known_listeners or {})
        self.learnt: dict[str, list[str]] = {}
        self.listeners: dict[str, list[dict[str, Any]]] = {}  # by load balancer ARN
        self.load_balancers: dict[str, dict[str, Any]] = {}  # by name
        self.target_groups: dict[str, dict[str, Any]] = {}  # by ARN
        self.tags: dict[str, list[dict[str, str]]] = {}  # ELBv2 tags by ARN, as AWS lists them
        self.services: list[dict[str, Any]] = []  # endpoint services with our cluster tag
        self.connections: dict[str, list[dict[str, Any]]] = {}  # by service id
        # By hosted zone id, read lazily: records by (lower-case name, type).
        self.records: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
        self._indexes: dict[str, Any] = {}
        self._memo: dict[Any, Any] = {}
        self._lock = threading.Lock()
        self._gate = Gates()
        self.calls = 0  # AWS calls this snapshot made
        self.round = new_round()  # its pages' (pagememo), whenever it reads them

    def _call(self, service: str, operation: str, **params: Any) -> Any:
        self.calls += 1
        return self.aws.call(service, operation, **params)

    def _pages(self, service: str, operation: str, key: str, token: str, **params: Any) -> Any:
        """Every item of a paginated describe (``token``: the answer's next-page field)."""
        request_token = {"NextMarker": "Marker", "NextToken": "NextToken"}[token]
        items: list[Any] = []
        while True:
            answer = self._call(service, operation, **params)
            items += answer.get(key, []) or []
            nxt = answer.get(token)
            if not nxt:
                return items
            params[request_token] = nxt

    def take(self, previous: Snapshot | None = None) -> Snapshot:
        """Read the batches. ``previous``: the snapshot this one replaces; an item AWS
        answers alike is kept as that snapshot's object, so what quiet drift checks remember
        (:meth:`Inventory.still_quiet`) keeps no second copy alive and compares by identity."""
        with reused_pages(self.round):  # pages AWS answers as last time are not parsed again
            self._read()
        if previous is not None:
            for mine, theirs in (
                (self.load_balancers, previous.load_balancers),
                (self.target_groups, previous.target_groups),
                (self.listeners, previous.listeners),
                (self.tags, previous.tags),
                (self.connections, previous.connections),
            ):
                _reuse(mine, theirs)
            by_id = {s.get("ServiceId"): s for s in previous.services}
            self.services = [
                old if (old := by_id.get(s.get("ServiceId"))) == s else s for s in self.services
            ]
        return self

    def _read(self) -> None:
        for lb in self._pages(
            "elbv2", "describe_load_balancers", "LoadBalancers", "NextMarker", PageSize=400
        ):
            self.load_balancers[lb["LoadBalancerName"]] = lb
        for tg in self._pages(
            "elbv2", "describe_target_groups", "TargetGroups", "NextMarker", PageSize=400
        ):
            self.target_groups[tg["TargetGroupArn"]] = tg
        self._take_listeners()
        arns = sorted(
            [lb["LoadBalancerArn"] for lb in self.load_balancers.values()]
            + list(self.target_groups)
            + [x["ListenerArn"] for xs in self.listeners.values() for x in xs]
        )
        cache = self.tag_cache
        read = arns if cache is None else cache.due(arns, self.taken_at)
        for start in range(0, len(read), 20):  # DescribeTags takes at most 20 ARNs
            answer = self._call("elbv2", "describe_tags", ResourceArns=read[start : start + 20])
            for d in answer.get("TagDescriptions", []):
                self.tags[d["ResourceArn"]] = list(d.get("Tags", []))
        if cache is not None:
            cache.update(self.tags, self.taken_at, keep=arns)
            self.tags = {**cache.tags(arns), **self.tags}
        self.services = self._pages(
            "ec2",
            "describe_vpc_endpoint_service_configurations",
            "ServiceConfigurations",
            "NextToken",
            Filters=[{"Name": f"tag:{TAG_CLUSTER}", "Values": [self.cluster]}],
            MaxResults=1000,
        )
        ids = sorted(s["ServiceId"] for s in self.services)
        for start in range(0, len(ids), 200):
            for c in self._pages(
                "ec2",
                "describe_vpc_endpoint_connections",
                "VpcEndpointConnections",
                "NextToken",
                Filters=[{"Name": "service-id", "Values": ids[start : start + 200]}],
                MaxResults=1000,
            ):
                self.connections.setdefault(c.get("ServiceId", ""), []).append(c)

    def _take_listeners(self) -> None:
        alive = {lb["LoadBalancerArn"] for lb in self.load_balancers.values()}
        lbs = sorted(lb for lb, arns in self.known_listeners.items() if lb in alive and arns)
        for start in range(0, len(lbs), 50):
            chunk = lbs[start : start + 50]
            arns = [a for lb in chunk for a in self.known_listeners[lb]]
            try:
                found = self._pages(
                    "elbv2", "describe_listeners", "Listeners", "NextMarker", ListenerArns=arns
                )
            except AwsError:
                continue  # one of them is gone: these objects read their listeners themselves
            by_lb: dict[str, list[dict[str, Any]]] = {lb: [] for lb in chunk}
            for listener in found:
                by_lb.setdefault(listener.get("LoadBalancerArn", ""), []).append(listener)
            for lb in chunk:
                if len(by_lb[lb]) == len(self.known_listeners[lb]):
                    self.listeners[lb] = by_lb[lb]

    # -- answers -------------------------------------------------------------------------

    def answer(self, service: str, operation: str, params: Mapping[str, Any], uid: str = "") -> Any:
        known = self.peek(service, operation, params)
        if known is not NEEDS_AWS:
            return known
        if self.details is not None and (service, operation) in DETAILS:
            return self._detail(service, operation, params, uid, self.details)
        if operation == "list_resource_record_sets":
            return self._record_sets(params)
        key = (service, operation, freeze(params))
        with self._gate(key):
            return self._memo_answer(key, service, operation, params)

    def peek(self, service: str, operation: str, params: Mapping[str, Any], key: Any = None) -> Any:
        """What :meth:`answer` answers without calling AWS (details still fresh, the pages and
        their indexes, what this snapshot read already), or :data:`NEEDS_AWS` (a detail due
        again, a read this snapshot has not made yet). Never calls AWS: safe on the event
        loop's thread. ``key``: ``freeze(params)``, if the caller has it already."""
        if self.details is not None and (service, operation) in DETAILS:
            frozen = freeze(params) if key is None else key
            hit = self.details.get((service, operation, frozen), self.detail_age)
            return NEEDS_AWS if hit is None else hit
        handler = _ANSWERS.get((service, operation))
        found = handler(self, params) if handler is not None else None
        if found is not None:
            return found
        if operation == "list_resource_record_sets":
            lookup = _record_lookup(params)
            if lookup is None:
                return NEEDS_AWS
            with self._lock:
                known = self.records.get(lookup[0])
            return NEEDS_AWS if known is None else _record_answer(known, lookup)
        with self._lock:
            frozen = freeze(params) if key is None else key
            return self._memo.get((service, operation, frozen), NEEDS_AWS)

    def _memo_answer(
        self, key: Any, service: str, operation: str, params: Mapping[str, Any]
    ) -> Any:
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        try:
            answer = self._call(service, operation, **params)
        except AwsError as exc:
            answer = exc
        learn = operation == "describe_listeners" and set(params) == {"LoadBalancerArn"}
        if learn and isinstance(answer, Mapping) and not answer.get("NextMarker"):
            with self._lock:
                self.learnt[params["LoadBalancerArn"]] = [
                    x["ListenerArn"] for x in answer.get("Listeners", [])
                ]
        with self._lock:
            self._memo[key] = answer
        return answer

    def _detail(
        self, service: str, operation: str, params: Mapping[str, Any], uid: str, details: Details
    ) -> Any:
        key = (service, operation, freeze(params))
        hit = details.get(key, self.detail_age)
        if hit is not None:
            return hit
        try:
            answer = self._call(service, operation, **params)
        except AwsError as exc:
            return exc
        details.put(uid, key, answer)
        return answer

    def _load_balancers(self, params: Mapping[str, Any]) -> Any:
        names = params.get("Names")
        if not names or set(params) != {"Names"}:
            return None
        found = [self.load_balancers[n] for n in names if n in self.load_balancers]
        if len(found) < len(names):
            return AwsError(
                "not_found", "LoadBalancerNotFound", "not in the snapshot", "DescribeLoadBalancers"
            )
        return {"LoadBalancers": found}

    def _target_groups(self, params: Mapping[str, Any]) -> Any:
        if set(params) == {"Names"}:
            names = set(params["Names"])
            by_name = self._index("tg-name", self._tgs_by_name)
            found = [tg for n in sorted(names) for tg in by_name.get(n, [])]
            if len(found) < len(names):
                return AwsError(
                    "not_found",
                    "TargetGroupNotFound",
                    "not in the snapshot",
                    "DescribeTargetGroups",
                )
            return {"TargetGroups": found}
        if set(params) == {"LoadBalancerArn"}:
            by_lb = self._index("tg-lb", self._tgs_by_load_balancer)
            return {"TargetGroups": list(by_lb.get(params["LoadBalancerArn"], []))}
        return None

    # Indexes, built once per snapshot on first use: a lookup per object must not scan every
    # object's resources (N lookups of N items each, at N=1000, cost more than the reads).

    def _index(self, name: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._indexes:
                self._indexes[name] = build()
            return self._indexes[name]

    def _tgs_by_name(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for tg in self.target_groups.values():
            out.setdefault(tg["TargetGroupName"], []).append(tg)
        return out

    def _tgs_by_load_balancer(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for tg in self.target_groups.values():
            for lb in tg.get("LoadBalancerArns") or []:
                out.setdefault(lb, []).append(tg)
        return out

    def _services_by_tag(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for service in self.services:
            for tag in service.get("Tags", []):
                out.setdefault((tag.get("Key", ""), tag.get("Value", "")), []).append(service)
        return out

    def _tags(self, params: Mapping[str, Any]) -> Any:
        arns = list(params.get("ResourceArns") or [])
        if not arns or any(a not in self.tags for a in arns):
            return None
        return {"TagDescriptions": [{"ResourceArn": a, "Tags": self.tags[a]} for a in arns]}

    def _services(self, params: Mapping[str, Any]) -> Any:
        filters = _filters(params)
        if set(params) != {"Filters"} or len(filters) != 1:
            return None
        ((name, values),) = filters.items()
        if not name.startswith("tag:"):
            return None
        key = name[4:]
        by_tag = self._index("services-tag", self._services_by_tag)
        found = {id(s): s for v in values for s in by_tag.get((key, v), [])}
        # In the describe's order, without a scan of every service (once per object: O(N^2)).
        position = self._index(
            "services-position", lambda: {id(s): i for i, s in enumerate(self.services)}
        )
        return {"ServiceConfigurations": sorted(found.values(), key=lambda s: position[id(s)])}

    def _connections(self, params: Mapping[str, Any]) -> Any:
        filters = _filters(params)
        ids = filters.get("service-id")
        if set(params) != {"Filters"} or set(filters) != {"service-id"} or ids is None:
            return None
        known = self._index("service-ids", lambda: {s["ServiceId"] for s in self.services})
        if not set(ids) <= known:
            return None
        return {"VpcEndpointConnections": [c for i in ids for c in self.connections.get(i, [])]}

    def _listeners(self, params: Mapping[str, Any]) -> Any:
        if set(params) != {"LoadBalancerArn"} or params["LoadBalancerArn"] not in self.listeners:
            return None
        return {"Listeners": self.listeners[params["LoadBalancerArn"]]}

    def _record_sets(self, params: Mapping[str, Any]) -> Any:
        """``StartRecordName/Type, MaxItems=1`` lookups, from the whole zone read once."""
        lookup = _record_lookup(params)
        if lookup is None:
            return self._call("route53", "list_resource_record_sets", **params)
        with self._gate(("records", lookup[0])):
            records = self._zone_records(lookup[0])
        return _record_answer(records, lookup)

    def _zone_records(self, zone: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """The zone's records by (lower-case name without the final dot, type)."""
        with self._lock:
            known = self.records.get(zone)
        if known is None:
            records: list[dict[str, Any]] = []
            page: dict[str, Any] = {"HostedZoneId": zone, "MaxItems": "300"}
            while True:
                with reused_pages(self.round):
                    answer = self._call("route53", "list_resource_record_sets", **page)
                records += answer.get("ResourceRecordSets", [])
                if not answer.get("IsTruncated"):
                    break
                page["StartRecordName"] = answer["NextRecordName"]
                page["StartRecordType"] = answer["NextRecordType"]
            known = {}
            for record in records:
                key = (record["Name"].rstrip(".").lower(), record["Type"])
                known.setdefault(key, []).append(record)
            with self._lock:
                self.records[zone] = known
        return known


def _reuse(mine: dict[Any, Any], theirs: Mapping[Any, Any]) -> None:
    """Each value of ``mine`` equal to ``theirs``' under its key becomes that object."""
    for key, value in mine.items():
        old = theirs.get(key)
        if old is not None and old is not value and old == value:
            mine[key] = old


def _record_lookup(params: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(zone, name, type) of a ``StartRecordName/Type, MaxItems=1`` lookup, else None."""
    name = str(params.get("StartRecordName", "")).rstrip(".").lower()
    rtype = params.get("StartRecordType")
    if not name or not rtype or str(params.get("MaxItems")) != "1":
        return None
    return str(params.get("HostedZoneId", "")), name, str(rtype)


def _record_answer(
    records: Mapping[tuple[str, str], list[dict[str, Any]]], lookup: tuple[str, str, str]
) -> dict[str, Any]:
    match = records.get((lookup[1], lookup[2]), [])
    return {"ResourceRecordSets": match[:1], "IsTruncated": False, "MaxItems": "1"}


_ANSWERS: dict[tuple[str, str], Callable[[Snapshot, Mapping[str, Any]], Any]] = {
    ("elbv2", "describe_load_balancers"): Snapshot._load_balancers,
    ("elbv2", "describe_target_groups"): Snapshot._target_groups,
    ("elbv2", "describe_tags"): Snapshot._tags,
    ("ec2", "describe_vpc_endpoint_service_configurations"): Snapshot._services,
    ("ec2", "describe_vpc_endpoint_connections"): Snapshot._connections,
    ("elbv2", "describe_listeners"): Snapshot._listeners,
}


class SharedView:
    """Read-only ``call`` over one snapshot; refuses writes (a drift pass never writes here)."""

    def __init__(self, snapshot: Snapshot, uid: str = "") -> None:
        self.snapshot = snapshot
        self.uid = uid
        self.reads: list[tuple[str, str, dict[str, Any], Any]] = []  # what it answered

    def call(self, service: str, operation: str, **params: Any) -> Any:
        if not operation.startswith(("describe_", "list_", "get_")):
            raise RuntimeError(f"{operation}: the shared view is read-only")
        answer = self.snapshot.answer(service, operation, params, self.uid)
        self.reads.append((service, operation, params, answer))
        if isinstance(answer, AwsError):
            raise answer
        return answer


@dataclass
class Quiet:
    """A drift check that found nothing to do: what it was given, what it read, its result."""

    spec: Any
    inputs: Any  # compared with ==
    # (service, operation, params, answer, freeze(params) or None where the pages answer)
    reads: list[tuple[str, str, dict[str, Any], Any, Any]]
    outcome: Any
    taken_at: float  # of the snapshot that answered ``reads`` (not the snapshot: it can go)


# Reads many objects share whose answers may change, but seldom matter within seconds: a
# certificate that all objects use is described once per SHARED_TTL, not once per pass.
SHARED = frozenset({("acm", "describe_certificate")})
SHARED_TTL = 5.0


class StableReads:
    """``call`` that answers :data:`STABLE` reads from a cache (successes only, ``max_age``)
    and :data:`SHARED` ones for :data:`SHARED_TTL` seconds at most."""

    def __init__(self, aws: AwsCaller, max_age: float, clock: Callable[[], float]) -> None:
        self.aws = aws
        self.max_age = max_age
        self.clock = clock
        self._cache: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._gate = Gates()

    def call(self, service: str, operation: str, **params: Any) -> Any:
        if (service, operation) in STABLE:
            ttl = self.max_age
        elif (service, operation) in SHARED:
            ttl = min(self.max_age, SHARED_TTL)
        else:
            return self.aws.call(service, operation, **params)
        key = (service, operation, freeze(params))
        with self._gate(key):
            now = self.clock()
            with self._lock:
                hit = self._cache.get(key)
            if hit is not None and now - hit[0] < ttl:
                return hit[1]
            answer = self.aws.call(service, operation, **params)
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = (now, answer)
            return answer


class Inventory:
    """The operator's shared snapshot, taken again when older than ``max_age`` seconds.

    ``stable``: the reader for passes that read AWS themselves (:class:`StableReads`).
    ``detail_budget``: objects whose per-resource details (:data:`DETAILS`) are read again per
    snapshot, at most (0: all, every snapshot).
    """

    def __init__(
        self,
        aws: AwsCaller,
        cluster: str,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
        detail_budget: int = DETAIL_BUDGET,
    ) -> None:
        self.aws = aws
        self.cluster = cluster
        self.max_age = max_age
        self.clock = clock
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._changed: dict[str, float] = {}
        self._quiet: dict[str, Quiet] = {}
        self._listeners: dict[str, list[str]] = {}  # learnt from passes since the snapshot
        self._learnt_lock = threading.Lock()
        self.snapshots = 0
        self.stable = StableReads(aws, max_age, clock)
        self.details = Details(detail_budget, clock) if detail_budget > 0 else None
        # An object has 3 ELBv2 resources (NLB, target group, listener): as many tags re-read.
        self.tags = TagCache(3 * detail_budget, max_age) if detail_budget > 0 else None

    def changed(self, uid: str) -> None:
        """This object's resources changed (or may have): it reads AWS until the next snapshot."""
        self._changed[uid] = self.clock()
        self._quiet.pop(uid, None)
        if self.details is not None:
            self.details.forget(uid)

    def learn(self, uid: str, answers: Iterable[tuple[Any, float, Any]]) -> None:
        """Answers an object's own pass read (``(key, when, answer)``, keys as
        :func:`freeze` makes them): its per-resource details and its load balancer's listeners
        need not be read again by the next snapshot."""
        for key, at, answer in answers:
            service, operation, params = key
            if self.details is not None and (service, operation) in DETAILS:
                self.details.put(uid, key, answer, at)
            elif operation == "describe_tags" and self.tags is not None:
                for d in answer.get("TagDescriptions", []):
                    self.tags.put(d["ResourceArn"], list(d.get("Tags", [])), at)
            elif operation == "describe_listeners" and isinstance(answer, Mapping):
                lb = dict(params).get("LoadBalancerArn")
                if isinstance(lb, str) and not answer.get("NextMarker"):
                    with self._learnt_lock:  # not self._lock: held while a snapshot is taken
                        self._listeners[lb] = [
                            x["ListenerArn"] for x in answer.get("Listeners", [])
                        ]

    def forget(self, uid: str) -> None:
        self._changed.pop(uid, None)
        self._quiet.pop(uid, None)
        if self.details is not None:
            self.details.forget(uid)

    def remember_quiet(
        self, uid: str, spec: Any, inputs: Any, view: SharedView, outcome: Any
    ) -> None:
        """``uid``'s drift check through ``view`` found nothing to do and changed nothing."""
        reads = [
            # Keys of what the pages do not answer, made once: freeze() per read per period
            # was a quarter of steady drift CPU at N=1000.
            (s, o, p, a, None if (s, o) in _ANSWERS else freeze(p))
            for s, o, p, a in view.reads
        ]
        self._quiet[uid] = Quiet(spec, inputs, reads, outcome, view.snapshot.taken_at)

    def still_quiet(self, uid: str, spec: Any, inputs: Any) -> Any:
        """The last quiet check's outcome if a drift check now would be the same pass: the same
        spec object and inputs, a snapshot not due, nothing written since it, and every read of
        that check answered alike by the current snapshot. Else None (run the pass). Never
        calls AWS, takes no snapshot: a check of N objects per period costs N dictionary
        lookups on the event loop, not N passes in threads."""
        quiet = self._quiet.get(uid)
        snapshot = self._snapshot
        if quiet is None or snapshot is None or quiet.spec is not spec or quiet.inputs != inputs:
            return None
        if self._due(snapshot):
            return None  # a pass, or a refresh, takes the next snapshot first
        if snapshot.taken_at <= self._changed.get(uid, float("-inf")):
            return None
        if snapshot.taken_at != quiet.taken_at:
            reads = quiet.reads
            for i, (service, operation, params, answer, key) in enumerate(reads):
                now = snapshot.peek(service, operation, params, key)
                if now is answer:
                    continue
                if now is NEEDS_AWS or not _same(now, answer):
                    self._quiet.pop(uid, None)
                    return None
                if key is not None and operation != "list_resource_record_sets":
                    # A new answer (details read again, a certificate): the last one's can
                    # go. What the pages answer (the zone's records too) is built anew per
                    # lookup around the same items (a new snapshot keeps the last one's
                    # objects for what AWS answers alike): kept, not rebuilt. Rebuilding
                    # 10 reads an object a period filled the old generation, and the
                    # garbage collector then scanned everything.
                    reads[i] = (service, operation, params, now, key)
            quiet.taken_at = snapshot.taken_at
        return quiet.outcome

    def remembers(self, uid: str) -> bool:
        """Whether ``uid``'s last drift check was quiet (:meth:`still_quiet` may skip the next)."""
        return uid in self._quiet

    def due(self) -> bool:
        """Whether the next drift check takes a new snapshot first."""
        return self._due(self._snapshot)

    def _due(self, snapshot: Snapshot | None) -> bool:
        return snapshot is None or self.clock() - snapshot.taken_at >= self.max_age

    def refresh(self) -> None:
        """Take the next snapshot if it is due, then read through it, once each, what the
        remembered quiet checks read that no snapshot holds before someone reads it (a hosted
        zone's records, a certificate they share): those checks are then compared with
        :meth:`still_quiet`, not run again as passes, one per object, in threads.

        Per-resource details due again (:data:`DETAILS`) are not read here: their budget is
        what runs the few full checks a snapshot allows. Call it from a worker thread.
        """
        snapshot = self._current()
        wanted: dict[Any, tuple[str, str, dict[str, Any], Any]] = {}
        for quiet in list(self._quiet.values()):
            for service, operation, params, _, key in quiet.reads:
                if key is None or (service, operation) in DETAILS:
                    continue  # the pages answer these, or the detail budget decides
                if operation == "list_resource_record_sets":
                    lookup = _record_lookup(params)
                    if lookup is None:
                        continue  # not kept by snapshots: such a check always runs
                    once: Any = ("zone", lookup[0])  # one lookup reads the whole zone
                else:
                    once = (service, operation, key)
                wanted.setdefault(once, (service, operation, params, key))
        for service, operation, params, key in wanted.values():
            if snapshot.peek(service, operation, params, key) is NEEDS_AWS:
                # If it fails, it stays unanswered: the checks that read it run as passes.
                with contextlib.suppress(AwsError):
                    snapshot.answer(service, operation, params)

    def _current(self) -> Snapshot:
        """The snapshot, taken again first if it is due (one thread does, the others wait)."""
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or self._due(snapshot):
                known: dict[str, list[str]] = {}
                if snapshot is not None:
                    known = {**snapshot.known_listeners, **snapshot.learnt}
                    known.update({lb: [x["ListenerArn"] for x in xs]
                                  for lb, xs in snapshot.listeners.items()})  # fmt: skip
                with self._learnt_lock:
                    known.update(self._listeners)
                    self._listeners = {}
                age = self.details.age_limit(self.max_age) if self.details is not None else 0.0
                snapshot = Snapshot(
                    self.stable, self.cluster, self.clock, known, self.details, age, self.tags
                ).take(previous=snapshot)
                self._snapshot = snapshot
                self.snapshots += 1
            return snapshot

    def view(self, uid: str) -> SharedView | None:
        """A view for ``uid``'s drift pass, or None when it must read AWS itself.

        Call it from a worker thread: it may take a new snapshot (one thread does, the others
        wait for it).
        """
        changed = self._changed.get(uid, float("-inf"))
        snapshot = self._current()
        if snapshot.taken_at <= changed:
            return None
        return SharedView(snapshot, uid)
