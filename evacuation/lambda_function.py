"""The evacuator's Lambda entry point (handler ``evacuation.lambda_function.handler``).

EventBridge Scheduler invokes it every minute in each vantage Region; an invocation runs a round
every ``probeSeconds`` (on the epoch's grid) for ``invocationSeconds``. ``{"action": "sync"}``
(Pulumi after it changes the drained list, the break-glass commands) publishes the routing state
without probing. Its settings
come from the ``GEO_PROXIMITY_EVACUATOR`` environment variable (JSON, written by Pulumi).
"""

from __future__ import annotations

import functools
import os
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from evacuation import budget, sigv4a
from evacuation.budget import RequestLimits
from evacuation.evacuator import Clients, Evacuator, Settings, settings_from_environment
from evacuation.state import RoutingState

SETTINGS_VARIABLE = "GEO_PROXIMITY_EVACUATOR"
# CloudFront's metrics and the alarms on them live in us-east-1; so does the all-out alarm.
METRICS_REGION = "us-east-1"


def client_config(limits: RequestLimits) -> Config:
    """botocore's ``Config`` for ``limits``."""
    return Config(
        connect_timeout=limits.connect_seconds,
        read_timeout=limits.read_seconds,
        # Attempts in all ("total_max_attempts" counts the first; "max_attempts" would not).
        retries={"total_max_attempts": limits.attempts, "mode": "standard"},
    )


def keyvaluestore_client(
    session: boto3.session.Session, endpoint_url: str | None = None, config: Config | None = None
) -> Any:
    """The key value store's data-plane client: unsigned as botocore makes it, every request signed
    with SigV4A by ``evacuation.sigv4a`` just before it is sent, so that no compiled package is
    needed (awscrt, which botocore signs SigV4A with, is not).

    The SDK's endpoint rules put the account id of the store's ARN in front of the host
    (``<account>.cloudfront-kvs.global.api.aws``: "Specify your AWS account ID for the endpoint",
    AWS General Reference, "Amazon CloudFront endpoints and quotas"), and do so in front of an
    ``endpoint_url`` too, where a host such as ``127.0.0.1`` cannot take it. With an endpoint
    given, requests go to that endpoint as given, as they do for every other service."""
    unsigned = Config(signature_version=UNSIGNED)
    client = session.client(
        budget.KEY_VALUE_STORE,
        region_name=METRICS_REGION,
        endpoint_url=endpoint_url,
        config=config.merge(unsigned) if config is not None else unsigned,
    )

    def credentials() -> sigv4a.Credentials | None:
        found = session.get_credentials()
        if found is None:
            return None
        frozen = found.get_frozen_credentials()
        return sigv4a.Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    rewrite = None
    if endpoint_url is not None:
        authority = urllib.parse.urlsplit(endpoint_url).netloc

        def rewrite(url: str) -> str:
            parts = urllib.parse.urlsplit(url)
            account, _, rest = parts.netloc.partition(".")
            if rest == authority and account.isdigit():
                return urllib.parse.urlunsplit(parts._replace(netloc=rest))
            return url

    sigv4a.sign_requests(client, budget.KEY_VALUE_STORE, credentials, rewrite_url=rewrite)
    return client


def clients_for(
    settings: Settings,
    endpoints: dict[str, str] | None = None,
    session: boto3.session.Session | None = None,
) -> Clients:
    """boto3 clients (from ``session``, by default boto3's own), each with the limits of
    ``evacuation.budget``: an S3 client per origin Region with the probe's timeouts and one
    attempt (a failed probe is an answer, not something to hide), the state table in this Region
    and in its home Region, the key value store's data plane with SigV4A, the topic and the
    metrics. ``endpoints`` overrides AWS's endpoints: by origin Region for S3, and by service name
    (``dynamodb``, ``cloudfront-keyvaluestore``)."""
    endpoints = endpoints or {}
    session = session or boto3.session.Session()
    probe = client_config(probe_limits(settings))
    s3 = {
        origin: session.client(
            budget.S3, region_name=origin, config=probe, endpoint_url=endpoints.get(origin)
        )
        for origin in settings.buckets
    }

    def table(region: str) -> Any:
        return session.client(
            budget.STATE_TABLE,
            region_name=region,
            endpoint_url=endpoints.get(budget.STATE_TABLE),
            config=client_config(budget.SERVICE_LIMITS[budget.STATE_TABLE]),
        )

    kvs = None
    if settings.kvs_arn:
        kvs = keyvaluestore_client(
            session,
            endpoints.get(budget.KEY_VALUE_STORE),
            client_config(budget.SERVICE_LIMITS[budget.KEY_VALUE_STORE]),
        )
    sns = None
    if settings.topic_arn:
        sns = session.client(
            budget.TOPIC,
            region_name=settings.topic_arn.split(":")[3],
            config=client_config(budget.SERVICE_LIMITS[budget.TOPIC]),
        )
    away = settings.table_region and settings.table_region != settings.vantage
    return Clients(
        s3=s3,
        dynamodb=table(settings.vantage),
        kvs=kvs,
        sns=sns,
        cloudwatch=session.client(
            budget.METRICS,
            region_name=METRICS_REGION,
            config=client_config(budget.SERVICE_LIMITS[budget.METRICS]),
        ),
        dynamodb_home=table(settings.table_region) if away and settings.table_region else None,
    )


def probe_limits(settings: Settings) -> RequestLimits:
    """A probe's limits: the settings' timeouts, one attempt."""
    return RequestLimits(settings.connect_timeout, settings.read_timeout, attempts=1)


def sync_until_allowed(
    evacuator: Evacuator,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RoutingState:
    """``evacuator.sync()``, tried again while access is denied, up to
    ``budget.SYNC_PATIENCE_SECONDS``."""
    deadline = clock() + budget.SYNC_PATIENCE_SECONDS
    while True:
        try:
            return evacuator.sync()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if "AccessDenied" not in code or clock() >= deadline:
                raise
            evacuator.log(f"sync: {code}, likely the role's policy not yet in effect; trying again")
            sleep(budget.SYNC_RETRY_SECONDS)


@functools.cache
def container_clients() -> tuple[Settings, Clients]:
    """The settings and the clients, made once per execution environment and kept by every
    invocation it runs: "Initialize SDK clients and database connections outside of the function
    handler ... Subsequent invocations processed by the same instance of your function can reuse
    these resources" (Lambda developer guide, "Best practices for working with AWS Lambda
    functions", https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html). An environment
    runs one invocation at a time, and its settings change only with a new one (a new
    configuration is a new environment)."""
    settings = settings_from_environment(os.environ[SETTINGS_VARIABLE])
    return settings, clients_for(settings)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings, clients = container_clients()
    evacuator = Evacuator(settings, clients)
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
