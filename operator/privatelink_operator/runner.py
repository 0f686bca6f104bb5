"""``python -m privatelink_operator run``: configure, then hand over to kopf.

Scope: ``--namespace`` (globs) and/or ``--selector`` (a label selector, applied by the API
server to the watches of both kinds), so several releases can share a cluster and each object
is served by exactly one of them. Leader election between replicas of one release is kopf
peering: every replica picks a distinct ``--priority`` (random unless given), the highest one
works and the others stand by until its peering entry expires.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
from typing import TYPE_CHECKING, Any

from . import GROUP

if TYPE_CHECKING:
    import kopf

PLURALS = ("privatelinkservices", "privatelinkendpoints")


def without_kubernetes_client() -> None:
    """Make ``import kubernetes`` fail in this process before kopf is imported: kopf then does
    not load the client (about 10 MB resident) for its optional model classes, and logs in
    with our handler (:func:`login`), as :mod:`.kube` does for the operator's own requests."""
    sys.modules.setdefault("kubernetes", None)  # type: ignore[arg-type]


async def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf's login handler: the credentials of :func:`.kube.load_credentials` (KUBECONFIG,
    in-cluster service account, ~/.kube/config), the same ones as the operator's own requests,
    read again on every re-login (kopf's 401). An exec plugin's credential goes to kopf with an
    ``expiration``, so kopf logs in again (and the plugin runs again) before it expires. The
    plugin runs in a worker thread; when it fails, kopf retries the login (TemporaryError)
    instead of stopping the operator."""
    import kopf

    from . import kube

    try:
        creds = await kube.kopf_credentials()
    except kube.ExecPluginError as exc:
        raise kopf.TemporaryError(str(exc), delay=10) from exc
    return creds.to_kopf()


def peering_priority(value: int | None) -> int:
    """The kopf peering priority: as given, or random, so replicas never tie (a tie pauses all)."""
    if value is not None:
        return value
    return random.SystemRandom().randint(1, 2**31 - 1)


def build_settings(args: argparse.Namespace) -> kopf.OperatorSettings:
    """kopf settings for the scope flags (imported lazily: ``--help`` stays fast)."""
    import kopf

    settings = kopf.OperatorSettings()
    selector = getattr(args, "selector", None)
    if selector:
        for plural in PLURALS:
            settings.watching.label_selectors[GROUP, plural] = selector
    return settings


def run_operator(args: argparse.Namespace) -> int:
    without_kubernetes_client()
    import kopf

    from . import handlers, kube, metrics
    from .aws import AwsClients
    from .scheduler import pausing_memories

    handlers.CONFIG.cluster_name = args.cluster_name
    handlers.CONFIG.probe_resolve = list(args.probe_resolve)
    handlers.CONFIG.drift_period = float(args.drift_period)
    handlers.CONFIG.detail_budget = max(0, int(getattr(args, "drift_detail_budget", 10)))
    handlers.CONFIG.probe_connections = max(1, int(args.probe_max_connections))
    handlers.CONFIG.aws = AwsClients(
        region=os.environ.get("AWS_REGION"), throttle=getattr(args, "aws_api_throttle", None)
    )
    log_format = kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.FULL
    kopf.configure(verbose=args.verbose, log_format=log_format)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if args.metrics_port:
        metrics.serve(int(args.metrics_port), host=args.metrics_host)
        logging.getLogger(__name__).info(
            "serving metrics on http://%s:%s/metrics", args.metrics_host, args.metrics_port
        )
    namespaces = list(args.namespace)
    priority = None if args.standalone else peering_priority(args.priority)
    try:
        kube.credentials()  # fail now, with the reason, rather than in kopf's login loop
    except kube.KubeConfigError as exc:
        logging.getLogger(__name__).error("%s", exc)
        return 2
    kopf.on.login(errors=kopf.ErrorsMode.PERMANENT)(login)

    async def main() -> None:
        try:
            await kopf.operator(
                clusterwide=not namespaces,
                namespaces=namespaces,
                standalone=args.standalone,
                peering_name=args.peering_name,
                priority=priority,
                liveness_endpoint=args.liveness,
                memo=kopf.Memo(group=GROUP),
                settings=build_settings(args),
                # kopf pausing its daemons (peering) pauses the scheduler (scheduler.py)
                memories=pausing_memories(handlers.SCHEDULER),
            )
        finally:
            await kube.close()

    asyncio.run(main())
    return 0
