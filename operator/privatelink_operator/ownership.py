"""Who owns an AWS resource, and what it is called (pure).

Every resource the operator creates carries ownership tags: the cluster (``--cluster-name``),
the owning object's kind, namespace, name and uid, and the resource's role. After a crash the
operator finds its resources by these tags (and by deterministic names), never by status
alone, and it never modifies or deletes a resource whose tags say another owner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "privatelink.operator.dev/"
TAG_CLUSTER = PREFIX + "cluster"
TAG_KIND = PREFIX + "kind"
TAG_NAMESPACE = PREFIX + "namespace"
TAG_NAME = PREFIX + "name"
TAG_UID = PREFIX + "uid"
TAG_ROLE = PREFIX + "role"

ROLE_CERTIFICATE = "certificate"
ROLE_LOAD_BALANCER = "load-balancer"
ROLE_TARGET_GROUP = "target-group"
ROLE_LISTENER = "listener"
ROLE_ENDPOINT_SERVICE = "endpoint-service"
ROLE_ENDPOINT = "endpoint"
ROLE_SECURITY_GROUP = "security-group"

ELB_NAME_MAX = 32

# On an object: ``"true"`` lets it adopt same-named resources that carry no operator's tags at
# all (never another cluster's or object's); they are tagged as its own on the next pass.
ADOPT_ANNOTATION = PREFIX + "adopt"


@dataclass(frozen=True)
class Owner:
    """The Kubernetes object that owns a set of AWS resources."""

    cluster: str
    kind: str
    namespace: str
    name: str
    uid: str
    # The object asks to adopt untagged same-named resources (ADOPT_ANNOTATION); not part of
    # its identity (names, tokens, equality).
    adopt: bool = field(default=False, compare=False)

    def tags(self, role: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """User tags first, ownership tags last (they win: users cannot fake ownership)."""
        tags = dict(extra or {})
        tags.update(
            {
                TAG_CLUSTER: self.cluster,
                TAG_KIND: self.kind,
                TAG_NAMESPACE: self.namespace,
                TAG_NAME: self.name,
                TAG_UID: self.uid,
                TAG_ROLE: role,
            }
        )
        return tags

    def owns(self, tags: Mapping[str, str]) -> bool:
        """Whether tags say this object (this cluster, this uid) owns the resource."""
        return (
            tags.get(TAG_CLUSTER) == self.cluster
            and tags.get(TAG_KIND) == self.kind
            and tags.get(TAG_NAMESPACE) == self.namespace
            and tags.get(TAG_NAME) == self.name
            and tags.get(TAG_UID) == self.uid
        )

    def may_adopt(self, tags: Mapping[str, str]) -> bool:
        """Whether a resource with ``tags`` (not ours) may become ours: only when the object
        asks for it, and only when no operator's tag at all is on it."""
        return self.adopt and not any(key.startswith(PREFIX) for key in tags)

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} (cluster {self.cluster})"

    @property
    def key(self) -> str:
        """Deterministic token for names and idempotency tokens: same object, same key."""
        raw = f"{self.cluster}/{self.kind}/{self.namespace}/{self.name}/{self.uid}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def elb_name(self, suffix: str = "") -> str:
        """An ELBv2 name: at most 32 letters, digits and hyphens, unique per object."""
        name = f"plo-{self.key[:16]}"
        if suffix:
            name = f"{name}-{suffix}"
        assert len(name) <= ELB_NAME_MAX, name
        return name

    def token(self, operation: str, *parts: str) -> str:
        """An idempotency token (EC2 ClientToken at most 64 characters; ACM 32 word chars)."""
        raw = "/".join((self.key, operation, *parts))
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


def short_hash(*parts: object) -> str:
    """Six hex characters that change when any part changes (names of replaceable resources)."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:6]


def tag_dict(tags: object) -> dict[str, str]:
    """AWS tag lists ([{Key, Value}]) as a dict; dicts pass through."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    result: dict[str, str] = {}
    for item in tags or []:  # type: ignore[attr-defined]
        result[str(item["Key"])] = str(item.get("Value", ""))
    return result


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
