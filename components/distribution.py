"""GeoProximityDistribution: the CloudFront distribution, its origin group and the routing
association.

The origin-request function (``EdgeFunction``) sends each cache miss to the bucket nearest the edge;
the origin group retries a failed request on its failover member, which carries the marker header
the function recognises. CloudFront signs a rerouted request with the identity of the origin it
started from, so every bucket must grant the one identity this component creates and exposes as
``read_grant``: that is why the identity lives here and not in ``RegionalOrigin``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aliases import known_before_as
from components.defaults import (
    DEFAULT_CONNECTION_ATTEMPTS,
    DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    DEFAULT_FAILOVER_STATUS_CODES,
    DEFAULT_PRICE_CLASS,
    SECURITY_HEADERS_POLICY_ID,
)
from components.naming import resource_comment
from components.policies import OriginAccess, oac_read_grant, oai_read_grant
from routing.artifact import DEFAULT_MARKER_HEADER

# AWS managed cache policy "Managed-CachingOptimized".
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
# Origin groups fail over only for these methods; a behavior that targets one may allow no others.
READ_METHODS = ["GET", "HEAD", "OPTIONS"]
CACHED_METHODS = ["GET", "HEAD"]
ORIGIN_GROUP_ID = "geo-proximity-group"
# The component's type token before it moved to geo-proximity:index.
_PREVIOUS_TYPE = "geo-proximity:cdn:GeoProximityDistribution"


def comment(purpose: str) -> str:
    """A comment of at most 128 characters naming the project, the stack and ``purpose``."""
    return resource_comment(pulumi.get_project(), pulumi.get_stack(), purpose)


def origin_id(region: str) -> str:
    return f"s3-{region}"


@dataclass(frozen=True)
class GeoProximityDistributionArgs:
    origin_domain_names: Mapping[str, pulumi.Input[str]]
    """Required. Origin Region → its bucket's Regional domain name
    (``<bucket>.s3.<region>.amazonaws.com``). Only the origin group's members are declared as
    origins; the function reaches the others."""

    default_origin: str
    """Required. The Region whose bucket is the origin group's primary member, or the one origin."""

    edge_function_arn: pulumi.Input[str]
    """Qualified ARN (numbered version) of the origin-request function
    (``EdgeFunction.qualified_arn``). Required."""

    failover_origin: str | None = None
    """The origin group's secondary member, which carries ``marker_header``.
    Default None: no origin group."""

    failover_status_codes: Sequence[int] = DEFAULT_FAILOVER_STATUS_CODES
    """Origin status codes that fail over. Default ``403, 404, 500, 502, 503, 504``."""

    connection_attempts: int = DEFAULT_CONNECTION_ATTEMPTS
    """How many times CloudFront tries to connect to a bucket before it fails over (1-3).
    Default 3."""

    connection_timeout: int = DEFAULT_CONNECTION_TIMEOUT_SECONDS
    """Seconds CloudFront waits for each connection to a bucket (1-10). Default 1, so an unreachable
    Region delays failover by at most attempts x timeout = 3 s (CloudFront's own default: 30 s)."""

    origin_access: OriginAccess = OriginAccess.OAI
    """How CloudFront signs origin requests: an origin access identity or origin access control.
    Default OAI."""

    security_headers: bool = True
    """Attach CloudFront's managed SecurityHeadersPolicy (HSTS, nosniff, frame and referrer
    policies) to every response. Default True."""

    price_class: str = DEFAULT_PRICE_CLASS
    """CloudFront price class. Default ``PriceClass_All``."""

    aliases: Sequence[str] = ()
    """Custom domain names. Default none (the ``*.cloudfront.net`` name only)."""

    certificate_arn: str | None = None
    """ACM certificate in us-east-1 covering ``aliases``.
    Default None: CloudFront's default certificate."""

    marker_header: str = DEFAULT_MARKER_HEADER
    """The custom header the failover member carries, so the function knows a retry.
    Default ``X-Geo-Failover``."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the distribution. Default none."""


class GeoProximityDistribution(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    """The distribution's id (``E...``), for invalidations."""

    arn: pulumi.Output[str]
    """The distribution's ARN."""

    domain_name: pulumi.Output[str]
    """The distribution's ``*.cloudfront.net`` domain name."""

    read_grant: pulumi.Output[dict[str, Any]]
    """Who every bucket policy must let read, as ``components.policies`` builds it."""

    def __init__(
        self,
        name: str,
        args: GeoProximityDistributionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "geo-proximity:index:GeoProximityDistribution",
            name,
            None,
            known_before_as(_PREVIOUS_TYPE, opts),
        )
        tags = dict(args.tags)
        access = self._access_identity(name, args.origin_access)
        distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            aws.cloudfront.DistributionArgs(
                enabled=True,
                comment=comment("geo-proximity delivery"),
                origins=self._group_origins(args, access),
                origin_groups=self._origin_groups(args),
                default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                    target_origin_id=(
                        origin_id(args.default_origin)
                        if args.failover_origin is None
                        else ORIGIN_GROUP_ID
                    ),
                    allowed_methods=READ_METHODS,
                    cached_methods=CACHED_METHODS,
                    viewer_protocol_policy="redirect-to-https",
                    compress=True,
                    cache_policy_id=CACHING_OPTIMIZED_POLICY_ID,
                    response_headers_policy_id=(
                        SECURITY_HEADERS_POLICY_ID if args.security_headers else None
                    ),
                    lambda_function_associations=[
                        aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                            event_type="origin-request",
                            # CloudFront accepts only a numbered version, never $LATEST or an alias.
                            lambda_arn=args.edge_function_arn,
                            include_body=False,
                        )
                    ],
                ),
                http_version="http2and3",
                is_ipv6_enabled=True,
                default_root_object="index.html",
                price_class=args.price_class,
                aliases=list(args.aliases) or None,
                viewer_certificate=self._viewer_certificate(args.certificate_arn),
                restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                    geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                        restriction_type="none", locations=[]
                    )
                ),
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.distribution_id = distribution.id
        self.arn = distribution.arn
        self.domain_name = distribution.domain_name
        self.read_grant = (
            access.iam_arn.apply(oai_read_grant)
            if isinstance(access, aws.cloudfront.OriginAccessIdentity)
            else distribution.arn.apply(oac_read_grant)
        )
        self.register_outputs(
            {
                "distributionId": self.distribution_id,
                "arn": self.arn,
                "domainName": self.domain_name,
                "readGrant": self.read_grant,
            }
        )

    def _access_identity(
        self, name: str, origin_access: OriginAccess
    ) -> aws.cloudfront.OriginAccessIdentity | aws.cloudfront.OriginAccessControl:
        # One identity for all buckets: a rerouted request is still signed with the identity of the
        # origin it started from.
        if origin_access is OriginAccess.OAI:
            return aws.cloudfront.OriginAccessIdentity(
                f"{name}-oai",
                aws.cloudfront.OriginAccessIdentityArgs(
                    comment=comment("granted by every origin bucket")
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            aws.cloudfront.OriginAccessControlArgs(
                origin_access_control_origin_type="s3",
                signing_behavior="always",
                signing_protocol="sigv4",
                description=comment("granted by every origin bucket"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _group_origins(
        args: GeoProximityDistributionArgs,
        access: aws.cloudfront.OriginAccessIdentity | aws.cloudfront.OriginAccessControl,
    ) -> list[aws.cloudfront.DistributionOriginArgs]:
        # Only the origin group's members are declared: the function reaches every other bucket by
        # rewriting the request, which keeps large stacks under CloudFront's
        # origins-per-distribution quota.
        members: list[tuple[str, list[aws.cloudfront.DistributionOriginCustomHeaderArgs]]] = [
            (args.default_origin, [])
        ]
        if args.failover_origin is not None:
            marker = aws.cloudfront.DistributionOriginCustomHeaderArgs(
                name=args.marker_header, value="true"
            )
            members.append((args.failover_origin, [marker]))
        oai_config = (
            aws.cloudfront.DistributionOriginS3OriginConfigArgs(
                origin_access_identity=access.cloudfront_access_identity_path
            )
            if isinstance(access, aws.cloudfront.OriginAccessIdentity)
            else None
        )
        oac_id = access.id if isinstance(access, aws.cloudfront.OriginAccessControl) else None
        return [
            aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id(region),
                domain_name=args.origin_domain_names[region],
                custom_headers=headers or None,
                connection_attempts=args.connection_attempts,
                connection_timeout=args.connection_timeout,
                s3_origin_config=oai_config,
                origin_access_control_id=oac_id,
            )
            for region, headers in members
        ]

    @staticmethod
    def _origin_groups(
        args: GeoProximityDistributionArgs,
    ) -> list[aws.cloudfront.DistributionOriginGroupArgs] | None:
        if args.failover_origin is None:
            return None
        return [
            aws.cloudfront.DistributionOriginGroupArgs(
                origin_id=ORIGIN_GROUP_ID,
                failover_criteria=aws.cloudfront.DistributionOriginGroupFailoverCriteriaArgs(
                    status_codes=list(args.failover_status_codes)
                ),
                members=[
                    aws.cloudfront.DistributionOriginGroupMemberArgs(origin_id=origin_id(region))
                    for region in (args.default_origin, args.failover_origin)
                ],
            )
        ]

    @staticmethod
    def _viewer_certificate(
        certificate_arn: str | None,
    ) -> aws.cloudfront.DistributionViewerCertificateArgs:
        if certificate_arn is None:
            return aws.cloudfront.DistributionViewerCertificateArgs(
                cloudfront_default_certificate=True
            )
        return aws.cloudfront.DistributionViewerCertificateArgs(
            acm_certificate_arn=certificate_arn,
            ssl_support_method="sni-only",
            minimum_protocol_version="TLSv1.2_2021",
        )
