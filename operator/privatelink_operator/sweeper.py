"""The orphan sweeper: AWS resources tagged for this cluster whose object no longer exists.

``python -m privatelink_operator sweep [--cluster-name NAME] [--delete]`` lists, in the account
of its AWS credentials, every resource whose ownership tags name this cluster
(``privatelink.operator.dev/cluster``) and an object (kind, namespace, name, uid) that the
Kubernetes cluster (KUBECONFIG or in-cluster) no longer has, for example after someone removed
the finalizer by hand. It only reports; with ``--delete`` it deletes them, dependents first
(endpoints, endpoint services, listeners, load balancers, target groups, security groups,
certificates). A resource of another cluster, an untagged one, or one whose object exists (same
uid) is never touched. Route 53 records carry no tags, so they are not swept.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import botocore.exceptions

from . import GROUP, VERSION
from .aws import AwsClients, AwsError, classify
from .ownership import (
    ROLE_CERTIFICATE,
    ROLE_ENDPOINT,
    ROLE_ENDPOINT_SERVICE,
    ROLE_LISTENER,
    ROLE_LOAD_BALANCER,
    ROLE_SECURITY_GROUP,
    ROLE_TARGET_GROUP,
    TAG_CLUSTER,
    TAG_KIND,
    TAG_NAME,
    TAG_NAMESPACE,
    TAG_ROLE,
    TAG_UID,
    tag_dict,
)

__all__ = ["DELETE_ORDER", "Orphan", "cli_sweep", "find_orphans", "live_objects", "sweep"]

PLURALS = {
    "PrivateLinkService": "privatelinkservices",
    "PrivateLinkEndpoint": "privatelinkendpoints",
}

# Dependents before what they depend on (AWS refuses the other order).
DELETE_ORDER = (
    ROLE_ENDPOINT,
    ROLE_ENDPOINT_SERVICE,
    ROLE_LISTENER,
    ROLE_LOAD_BALANCER,
    ROLE_TARGET_GROUP,
    ROLE_SECURITY_GROUP,
    ROLE_CERTIFICATE,
)

# An object as its tags name it: (kind, namespace, name, uid).
ObjectKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class Orphan:
    role: str
    resource_id: str
    owner: ObjectKey

    def describe(self) -> str:
        kind, namespace, name, uid = self.owner
        return f"{self.role} {self.resource_id} (of {kind} {namespace}/{name}, uid {uid})"


def _tagged(aws: AwsClients, cluster: str) -> list[tuple[str, str, dict[str, str]]]:
    """(role, id, tags) of every resource in the account tagged for ``cluster``."""
    found: list[tuple[str, str, dict[str, str]]] = []

    def keep(ident: str, tags: Mapping[str, str], default_role: str) -> None:
        if tags.get(TAG_CLUSTER) == cluster:
            found.append((tags.get(TAG_ROLE, default_role), ident, dict(tags)))

    lbs: list[str] = []
    for page in aws.elbv2.get_paginator("describe_load_balancers").paginate():
        lbs += [lb["LoadBalancerArn"] for lb in page["LoadBalancers"]]
    tgs: list[str] = []
    for page in aws.elbv2.get_paginator("describe_target_groups").paginate():
        tgs += [tg["TargetGroupArn"] for tg in page["TargetGroups"]]
    listeners: list[str] = []
    for lb in lbs:
        for page in aws.elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb):
            listeners += [x["ListenerArn"] for x in page["Listeners"]]
    roles = {
        **dict.fromkeys(lbs, ROLE_LOAD_BALANCER),
        **dict.fromkeys(tgs, ROLE_TARGET_GROUP),
        **dict.fromkeys(listeners, ROLE_LISTENER),
    }
    arns = list(roles)
    for start in range(0, len(arns), 20):
        answer = aws.call("elbv2", "describe_tags", ResourceArns=arns[start : start + 20])
        for d in answer["TagDescriptions"]:
            keep(d["ResourceArn"], tag_dict(d.get("Tags", [])), roles[d["ResourceArn"]])
    ec2 = aws.ec2
    for page in ec2.get_paginator("describe_vpc_endpoint_service_configurations").paginate():
        for svc in page["ServiceConfigurations"]:
            if str(svc.get("ServiceState", "")).lower() not in ("deleted", "deleting"):
                keep(svc["ServiceId"], tag_dict(svc.get("Tags", [])), ROLE_ENDPOINT_SERVICE)
    for page in ec2.get_paginator("describe_vpc_endpoints").paginate():
        for ep in page["VpcEndpoints"]:
            if str(ep.get("State", "")).lower() not in ("deleted", "deleting"):
                keep(ep["VpcEndpointId"], tag_dict(ep.get("Tags", [])), ROLE_ENDPOINT)
    cluster_filter = [{"Name": f"tag:{TAG_CLUSTER}", "Values": [cluster]}]
    for page in ec2.get_paginator("describe_security_groups").paginate(Filters=cluster_filter):
        for sg in page["SecurityGroups"]:
            keep(sg["GroupId"], tag_dict(sg.get("Tags", [])), ROLE_SECURITY_GROUP)
    for page in aws.acm.get_paginator("list_certificates").paginate():
        for cert in page["CertificateSummaryList"]:
            arn = cert["CertificateArn"]
            tags = aws.call("acm", "list_tags_for_certificate", CertificateArn=arn)["Tags"]
            keep(arn, tag_dict(tags), ROLE_CERTIFICATE)
    return found


def find_orphans(aws: AwsClients, cluster: str, live: Iterable[ObjectKey]) -> list[Orphan]:
    """Resources tagged for ``cluster`` whose (kind, namespace, name, uid) is not in ``live``."""
    alive = set(live)
    orphans = []
    try:
        tagged = _tagged(aws, cluster)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise classify(exc) from exc
    for role, ident, tags in tagged:
        owner = (
            tags.get(TAG_KIND, ""),
            tags.get(TAG_NAMESPACE, ""),
            tags.get(TAG_NAME, ""),
            tags.get(TAG_UID, ""),
        )
        if owner not in alive:
            orphans.append(Orphan(role, ident, owner))
    rank = {role: index for index, role in enumerate(DELETE_ORDER)}
    return sorted(orphans, key=lambda o: (rank.get(o.role, len(rank)), o.resource_id))


def _delete(aws: AwsClients, orphan: Orphan) -> None:
    ident = orphan.resource_id
    if orphan.role == ROLE_ENDPOINT:
        aws.call("ec2", "delete_vpc_endpoints", VpcEndpointIds=[ident])
    elif orphan.role == ROLE_ENDPOINT_SERVICE:
        connections = aws.call(
            "ec2",
            "describe_vpc_endpoint_connections",
            Filters=[{"Name": "service-id", "Values": [ident]}],
        )["VpcEndpointConnections"]
        open_ = [
            c["VpcEndpointId"]
            for c in connections
            if str(c.get("VpcEndpointState", "")).lower() in ("available", "pendingacceptance")
        ]
        if open_:
            aws.call(
                "ec2", "reject_vpc_endpoint_connections", ServiceId=ident, VpcEndpointIds=open_
            )
        answer = aws.call("ec2", "delete_vpc_endpoint_service_configurations", ServiceIds=[ident])
        failed = answer.get("Unsuccessful") or []
        if failed:
            error = failed[0].get("Error", {})
            raise AwsError(
                "conflict",
                str(error.get("Code", "Unsuccessful")),
                str(error.get("Message", "")),
                "delete_vpc_endpoint_service_configurations",
            )
    elif orphan.role == ROLE_LISTENER:
        aws.call("elbv2", "delete_listener", ListenerArn=ident)
    elif orphan.role == ROLE_LOAD_BALANCER:
        aws.call("elbv2", "delete_load_balancer", LoadBalancerArn=ident)
    elif orphan.role == ROLE_TARGET_GROUP:
        aws.call("elbv2", "delete_target_group", TargetGroupArn=ident)
    elif orphan.role == ROLE_SECURITY_GROUP:
        aws.call("ec2", "delete_security_group", GroupId=ident)
    elif orphan.role == ROLE_CERTIFICATE:
        aws.call("acm", "delete_certificate", CertificateArn=ident)
    else:
        raise AwsError("user", "UnknownRole", f"no deletion known for role {orphan.role}", "")


def sweep(
    aws: AwsClients,
    cluster: str,
    live: Iterable[ObjectKey],
    *,
    delete: bool = False,
    out: Callable[[str], None] = print,
) -> tuple[list[Orphan], list[tuple[Orphan, AwsError]]]:
    """Report (and with ``delete``, delete) the orphans; returns them and the failed deletions."""
    orphans = find_orphans(aws, cluster, live)
    failures: list[tuple[Orphan, AwsError]] = []
    for orphan in orphans:
        if not delete:
            out(f"orphan: {orphan.describe()}")
            continue
        try:
            _delete(aws, orphan)
        except AwsError as exc:
            failures.append((orphan, exc))
            out(f"not deleted: {orphan.describe()}: {exc.code}: {exc.message}")
        else:
            out(f"deleted: {orphan.describe()}")
    verb = "deleted" if delete else "found"
    count = len(orphans) - len(failures)
    out(f"{count} orphaned resource(s) {verb} for cluster {cluster!r}")
    if not delete and orphans:
        out("run again with --delete to delete them")
    if failures:
        out(f"{len(failures)} could not be deleted (yet): run the sweep again in a minute")
    return orphans, failures


def live_objects() -> list[ObjectKey]:
    """Every PrivateLinkService and PrivateLinkEndpoint of the cluster, in all namespaces."""
    from . import kube

    keys: list[ObjectKey] = []
    for kind, plural in PLURALS.items():
        listed: Any = kube.request_sync(f"/apis/{GROUP}/{VERSION}/{plural}")
        for item in listed.get("items", []):
            meta = item.get("metadata", {})
            keys.append(
                (kind, meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", ""))
            )
    return keys


def cli_sweep(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Exit 0: nothing orphaned (or all deleted); 1: orphans reported or not all deleted."""
    stream = stdout or sys.stdout

    def out(line: str) -> None:
        print(line, file=stream, flush=True)

    live = live_objects()
    aws = AwsClients()
    try:
        orphans, failures = sweep(aws, args.cluster_name, live, delete=args.delete, out=out)
    except AwsError as exc:
        out(f"cannot read AWS: {exc}")
        return 1
    if failures or (orphans and not args.delete):
        return 1
    return 0
