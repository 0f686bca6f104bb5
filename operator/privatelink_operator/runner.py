"""``python -m privatelink_operator run``: configure, then hand over to kopf."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from . import GROUP


def run_operator(args: argparse.Namespace) -> int:
    import kopf

    from . import handlers
    from .aws import AwsClients

    handlers.CONFIG.cluster_name = args.cluster_name
    handlers.CONFIG.probe_resolve = list(args.probe_resolve)
    handlers.CONFIG.drift_period = float(args.drift_period)
    handlers.CONFIG.aws = AwsClients(region=os.environ.get("AWS_REGION"))
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.FULL)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    namespaces = list(args.namespace)
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=args.standalone,
            peering_name=args.peering_name,
            liveness_endpoint=args.liveness,
            memo=kopf.Memo(group=GROUP),
        )
    )
    return 0
