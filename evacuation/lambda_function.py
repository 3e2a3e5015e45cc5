"""The evacuator's Lambda entry point (handler ``evacuation.lambda_function.handler``).

EventBridge Scheduler invokes it every minute in each vantage Region; an invocation runs
``rounds`` rounds ``probeSeconds`` apart. ``{"action": "sync"}`` (Pulumi after it changes the
drained list, the break-glass commands) publishes the routing state without probing. Its settings
come from the ``GEO_PROXIMITY_EVACUATOR`` environment variable (JSON, written by Pulumi).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

from evacuation import sigv4a
from evacuation.evacuator import Clients, Evacuator, Settings, settings_from_environment

SETTINGS_VARIABLE = "GEO_PROXIMITY_EVACUATOR"
# CloudFront's metrics and the alarms on them live in us-east-1; so does the all-out alarm.
METRICS_REGION = "us-east-1"


def clients_for(settings: Settings, endpoints: dict[str, str] | None = None) -> Clients:
    """boto3 clients: an S3 client per origin Region with the probe's timeouts and no retries
    (a failed probe is an answer, not something to hide), the state table in this Region, and
    the key value store's data plane with SigV4A (``evacuation.sigv4a`` where awscrt is absent)."""
    endpoints = endpoints or {}
    probe = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        # One attempt in all ("total_max_attempts" counts the first; "max_attempts" would not).
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    s3 = {
        origin: boto3.client(
            "s3", region_name=origin, config=probe, endpoint_url=endpoints.get(origin)
        )
        for origin in settings.buckets
    }
    kvs = None
    if settings.kvs_arn:
        sigv4a.register()
        kvs = boto3.client(
            "cloudfront-keyvaluestore",
            region_name=METRICS_REGION,
            endpoint_url=endpoints.get("cloudfront-keyvaluestore"),
        )
    topic_region = settings.topic_arn.split(":")[3] if settings.topic_arn else METRICS_REGION
    return Clients(
        s3=s3,
        dynamodb=boto3.client(
            "dynamodb", region_name=settings.vantage, endpoint_url=endpoints.get("dynamodb")
        ),
        kvs=kvs,
        sns=boto3.client("sns", region_name=topic_region) if settings.topic_arn else None,
        cloudwatch=boto3.client("cloudwatch", region_name=METRICS_REGION),
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = settings_from_environment(os.environ[SETTINGS_VARIABLE])
    evacuator = Evacuator(settings, clients_for(settings))
    if event.get("action") == "sync":
        state = evacuator.sync()
        return {"out": sorted(state.out)}
    rounds = evacuator.run()
    last = rounds[-1]
    return {
        "out": sorted(last.state.out),
        "evacuated": sorted(last.decision.evacuate),
        "restored": sorted(last.decision.restore),
        "unhealthy": sorted(origin for origin, ok in last.healthy.items() if not ok),
    }
