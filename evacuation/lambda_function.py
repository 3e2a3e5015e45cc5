"""The evacuator's Lambda entry point (handler ``evacuation.lambda_function.handler``).

EventBridge Scheduler invokes it every minute in each vantage Region; an invocation runs a round
every ``probeSeconds`` (on the epoch's grid) for ``invocationSeconds``. ``{"action": "sync"}``
(Pulumi after it changes the drained list, the break-glass commands) publishes the routing state
without probing. Its settings
come from the ``GEO_PROXIMITY_EVACUATOR`` environment variable (JSON, written by Pulumi).
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from evacuation import sigv4a
from evacuation.evacuator import Clients, Evacuator, Settings, settings_from_environment
from evacuation.state import RoutingState

SETTINGS_VARIABLE = "GEO_PROXIMITY_EVACUATOR"
# CloudFront's metrics and the alarms on them live in us-east-1; so does the all-out alarm.
METRICS_REGION = "us-east-1"


def keyvaluestore_client(
    session: boto3.session.Session, endpoint_url: str | None = None, config: Config | None = None
) -> Any:
    """The key value store's data-plane client, signing with SigV4A (``evacuation.sigv4a`` where
    awscrt is absent).

    The SDK's endpoint rules put the account id of the store's ARN in front of the host
    (``<account>.cloudfront-kvs.global.api.aws``: "Specify your AWS account ID for the endpoint",
    AWS General Reference, "Amazon CloudFront endpoints and quotas"), and do so in front of an
    ``endpoint_url`` too, where a host such as ``127.0.0.1`` cannot take it. With an endpoint
    given, requests go to that endpoint as given, as they do for every other service."""
    sigv4a.register()
    client = session.client(
        "cloudfront-keyvaluestore",
        region_name=METRICS_REGION,
        endpoint_url=endpoint_url,
        config=config,
    )
    if endpoint_url is not None:
        authority = urllib.parse.urlsplit(endpoint_url).netloc

        def to_the_endpoint(request: Any, **_: Any) -> None:
            parts = urllib.parse.urlsplit(request.url)
            account, _, rest = parts.netloc.partition(".")
            if rest == authority and account.isdigit():
                request.url = urllib.parse.urlunsplit(parts._replace(netloc=rest))

        client.meta.events.register("before-sign.cloudfront-keyvaluestore", to_the_endpoint)
    return client


def clients_for(
    settings: Settings,
    endpoints: dict[str, str] | None = None,
    session: boto3.session.Session | None = None,
) -> Clients:
    """boto3 clients (from ``session``, by default boto3's own): an S3 client per origin Region
    with the probe's timeouts and no retries (a failed probe is an answer, not something to
    hide), the state table in this Region, and the key value store's data plane with SigV4A.
    ``endpoints`` overrides AWS's endpoints: by origin Region for S3, and by service name
    (``dynamodb``, ``cloudfront-keyvaluestore``)."""
    endpoints = endpoints or {}
    session = session or boto3.session.Session()
    probe = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        # One attempt in all ("total_max_attempts" counts the first; "max_attempts" would not).
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    s3 = {
        origin: session.client(
            "s3", region_name=origin, config=probe, endpoint_url=endpoints.get(origin)
        )
        for origin in settings.buckets
    }
    kvs = None
    if settings.kvs_arn:
        kvs = keyvaluestore_client(session, endpoints.get("cloudfront-keyvaluestore"))
    topic_region = settings.topic_arn.split(":")[3] if settings.topic_arn else METRICS_REGION
    return Clients(
        s3=s3,
        dynamodb=session.client(
            "dynamodb", region_name=settings.vantage, endpoint_url=endpoints.get("dynamodb")
        ),
        kvs=kvs,
        sns=session.client("sns", region_name=topic_region) if settings.topic_arn else None,
        cloudwatch=session.client("cloudwatch", region_name=METRICS_REGION),
        dynamodb_home=(
            session.client(
                "dynamodb",
                region_name=settings.table_region,
                endpoint_url=endpoints.get("dynamodb"),
                # Seconds, not the SDK's minutes, before a Region that does not answer is given up
                # for this Region's replica.
                config=Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 2}),
            )
            if settings.table_region and settings.table_region != settings.vantage
            else None
        ),
    )


# On the first `pulumi up` the sync may run before its role's policy has reached every endpoint:
# IAM "is eventually consistent" and changes "might not be immediately visible" (IAM user guide,
# "Troubleshoot IAM", changes that I make are not always immediately visible). It tries again for
# this long before the deploy fails on it.
SYNC_PATIENCE_SECONDS = 30
_SYNC_RETRY_SECONDS = 3


def sync_until_allowed(
    evacuator: Evacuator,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RoutingState:
    """``evacuator.sync()``, tried again while access is denied, up to ``SYNC_PATIENCE_SECONDS``."""
    deadline = clock() + SYNC_PATIENCE_SECONDS
    while True:
        try:
            return evacuator.sync()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if "AccessDenied" not in code or clock() >= deadline:
                raise
            evacuator.log(f"sync: {code}, likely the role's policy not yet in effect; trying again")
            sleep(_SYNC_RETRY_SECONDS)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = settings_from_environment(os.environ[SETTINGS_VARIABLE])
    evacuator = Evacuator(settings, clients_for(settings))
    if event.get("action") == "sync":
        state = sync_until_allowed(evacuator)
        return {"out": sorted(state.out)}
    # Lambda says how long the invocation has left: no round starts that could not finish.
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    rounds = evacuator.run(remaining_seconds=remaining() / 1000 if remaining else None)
    if not rounds:
        return {"rounds": 0}
    last = rounds[-1]
    return {
        "out": sorted(last.state.out),
        "evacuated": sorted(last.decision.evacuate),
        "restored": sorted(last.decision.restore),
        "unhealthy": sorted(origin for origin, ok in last.healthy.items() if not ok),
    }
