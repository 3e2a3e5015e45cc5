"""Builders shared by the tests: CloudFront origin-request events, Lambda contexts, routing
artifacts."""

from __future__ import annotations

import copy
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from routing.artifact import DEFAULT_MARKER_HEADER, regional_domain_name, render_artifact
from routing.catalogue import load_catalogue
from routing.table import FailoverMode, RoutingTable, derive_routing_table

# The buckets of the seed post's example: one per continent.
SEED_ORIGINS = ("us-east-1", "eu-central-1", "ap-northeast-1")

# The Regional edge cache Regions the CloudFront developer guide lists (lambda-edge-permissions.md).
DOCUMENTED_EXECUTION_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
)


def bucket_name(region_code: str) -> str:
    return f"geo-assets-{region_code}-7f3a9c1"


def bucket_names(origins: tuple[str, ...] | list[str]) -> dict[str, str]:
    return {code: bucket_name(code) for code in origins}


def domain_of(region_code: str) -> str:
    return regional_domain_name(bucket_name(region_code), region_code)


def artifact_for(table: RoutingTable, marker_header: str = DEFAULT_MARKER_HEADER) -> str:
    return render_artifact(table, bucket_names(table.origins), marker_header=marker_header)


def seed_artifact(**options: Any) -> str:
    return artifact_for(derive_routing_table(SEED_ORIGINS, **options))


@dataclass(frozen=True)
class LambdaContext:
    """The one attribute of Lambda's context object the handler reads."""

    invoked_function_arn: str


def context_in(region_code: str) -> LambdaContext:
    """The context of a replica executing in ``region_code`` (the ARN shape Lambda@Edge uses)."""
    return LambdaContext(
        f"arn:aws:lambda:{region_code}:123456789012:function:us-east-1.geo-router:7"
    )


def origin_request_event(
    *,
    origin_region: str = "us-east-1",
    custom_headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An origin-request event for an S3 origin, shaped as the CloudFront developer guide's example.

    ``custom_headers`` are the origin's custom headers as configured (original case); CloudFront
    delivers them under lowercase keys with ``{key, value}`` lists, as it does request headers.
    """
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": {
                            "x-forwarded-for": [
                                {"key": "X-Forwarded-For", "value": "203.0.113.178"}
                            ],
                            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                            "via": [
                                {
                                    "key": "Via",
                                    "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net"
                                    " (CloudFront)",
                                }
                            ],
                            "host": [{"key": "Host", "value": domain_of(origin_region)}],
                            "cache-control": [{"key": "Cache-Control", "value": "no-cache"}],
                        },
                        "method": "GET",
                        "origin": {
                            "s3": {
                                "authMethod": "origin-access-identity",
                                "customHeaders": {
                                    name.lower(): [{"key": name, "value": value}]
                                    for name, value in (custom_headers or {}).items()
                                },
                                "domainName": domain_of(origin_region),
                                "path": "",
                                "region": origin_region,
                            }
                        },
                        "querystring": "size=large",
                        "uri": "/images/picture.jpg",
                    },
                }
            }
        ]
    }


def failover_request_event(
    *, origin_region: str, marker_header: str = DEFAULT_MARKER_HEADER
) -> dict[str, Any]:
    """The event CloudFront sends when the origin group retries on its failover member."""
    return origin_request_event(origin_region=origin_region, custom_headers={marker_header: "true"})


def custom_origin_event() -> dict[str, Any]:
    event = origin_request_event()
    request = event["Records"][0]["cf"]["request"]
    request["origin"] = {
        "custom": {
            "customHeaders": {},
            "domainName": "example.com",
            "keepaliveTimeout": 5,
            "path": "/custom_path",
            "port": 443,
            "protocol": "https",
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }
    return event


def request_of(event: Mapping[str, Any]) -> dict[str, Any]:
    return event["Records"][0]["cf"]["request"]


def expected_reroute(event: Mapping[str, Any], target_region: str) -> dict[str, Any]:
    """The request of ``event`` with exactly the three changes a reroute to
    ``target_region`` makes."""
    request = copy.deepcopy(request_of(event))
    request["origin"]["s3"]["domainName"] = domain_of(target_region)
    request["origin"]["s3"]["region"] = target_region
    request["headers"]["host"] = [{"key": "Host", "value": domain_of(target_region)}]
    return request


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@st.composite
def routing_tables(draw: st.DrawFn) -> RoutingTable:
    """Random routing tables: origin sets, default and failover origins, pins and failover modes."""
    regions = list(load_catalogue())
    origins = draw(st.lists(st.sampled_from(regions), min_size=1, max_size=8, unique=True))
    default = draw(st.sampled_from(origins))
    mode = draw(st.sampled_from(list(FailoverMode))) if len(origins) > 1 else FailoverMode.OFF
    others = [code for code in origins if code != default]
    failover_origin = draw(st.none() | st.sampled_from(others)) if others else None
    overrides = draw(
        st.dictionaries(st.sampled_from(regions), st.sampled_from(origins), max_size=5)
    )
    return derive_routing_table(
        origins,
        default_origin=default,
        overrides=overrides,
        failover=mode,
        failover_origin=failover_origin,
    )
