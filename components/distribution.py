"""GeoProximityDistribution: the CloudFront distribution, its origins, failover and the routing
function's association, for either engine.

With Lambda@Edge (``engine="lambda-edge"``) an origin-request function (``LambdaEdgeRouter``) sends
each cache miss to the bucket nearest the edge; a static origin group retries a failed request on
its failover member, which carries the marker header the function recognises. CloudFront signs a
rerouted request with the identity of the origin it started from, so every bucket must grant the one
origin access identity this component creates: that is why the identity lives here and not in
``RegionalOrigin``.

With CloudFront Functions (``engine="cloudfront-functions"``) every bucket is an origin of its own,
signed with one origin access control; a viewer-request function (``CloudFrontFunctionRouter``)
picks each request's origin, or makes it a failover group, among them. Every bucket grants this
distribution.

``read_grants`` always resolves after the distribution: bucket policies change only once the
distribution has stopped (or started) signing with an identity, never before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aliases import known_before_as
from core.cloudfront import (
    DEFAULT_CONNECTION_ATTEMPTS,
    DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    DEFAULT_FAILOVER_STATUS_CODES,
    DEFAULT_PRICE_CLASS,
    DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS,
    READ_METHODS,
    SECURITY_HEADERS_POLICY_ID,
)
from core.engine import Engine, OriginAccess
from core.naming import resource_comment
from core.policies import next_engine_grant, oac_read_grant, oai_read_grant
from edge_function.cloudfront_function import origin_id
from routing.artifact import DEFAULT_MARKER_HEADER

# AWS managed cache policy "Managed-CachingOptimized".
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ORIGIN_GROUP_ID = "geo-proximity-group"
# The component's type token before it moved to geo-proximity:index.
_PREVIOUS_TYPE = "geo-proximity:cdn:GeoProximityDistribution"


def comment(purpose: str) -> str:
    """A comment of at most 128 characters naming the project, the stack and ``purpose``."""
    return resource_comment(pulumi.get_project(), pulumi.get_stack(), purpose)


@dataclass(frozen=True)
class GeoProximityDistributionArgs:
    origin_domain_names: Mapping[str, pulumi.Input[str]]
    """Required. Origin Region → its bucket's Regional domain name
    (``<bucket>.s3.<region>.amazonaws.com``), for every origin. With Lambda@Edge only the origin
    group's members are declared (the function reaches the others); with CloudFront Functions all
    are, each under the id ``s3-<region>``."""

    default_origin: str
    """Required. The Region whose bucket serves when the routing function chooses nothing: the
    origin group's primary member (Lambda@Edge), or the default cache behavior's origin."""

    function_arn: pulumi.Input[str]
    """Required. Lambda@Edge: the qualified ARN (numbered version) of the origin-request function
    (``LambdaEdgeRouter.qualified_arn``). CloudFront Functions: the viewer-request function's ARN
    (``CloudFrontFunctionRouter.arn``)."""

    engine: Engine = Engine.LAMBDA_EDGE
    """Which engine ``function_arn`` is and so how origins are declared and signed: Lambda@Edge
    (origin access identity) or CloudFront Functions (origin access control). Default
    ``lambda-edge``."""

    next_engine: Engine | None = None
    """The engine the stack is switching to: every bucket also grants its identity, so the switch's
    next ``pulumi up`` finds the buckets readable. Default None."""

    failover_origin: str | None = None
    """Lambda@Edge: the static origin group's secondary member, which carries ``marker_header``.
    Default None: no origin group. (CloudFront Functions make a group per request instead.)"""

    failover_status_codes: Sequence[int] = DEFAULT_FAILOVER_STATUS_CODES
    """Origin status codes that fail over (Lambda@Edge's static group; CloudFront Functions pass
    theirs per request). Default ``DEFAULT_FAILOVER_STATUS_CODES``."""

    connection_attempts: int = DEFAULT_CONNECTION_ATTEMPTS
    """How many times CloudFront tries to connect to a bucket before it fails over (1-3).
    Default ``DEFAULT_CONNECTION_ATTEMPTS``."""

    connection_timeout: int = DEFAULT_CONNECTION_TIMEOUT_SECONDS
    """Seconds CloudFront waits for each connection to a bucket (1-10).
    Default ``DEFAULT_CONNECTION_TIMEOUT_SECONDS``, so an unreachable Region delays failover by at
    most attempts x timeout, a few seconds (CloudFront's own default: 30 s a connection)."""

    response_completion_timeout: int = DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS
    """Seconds within which a bucket's complete answer must arrive, every attempt included, or
    CloudFront ends the connection (``core.cloudfront``: no failover after it is documented, and
    it also ends slower downloads); 30-3600, or 0 for none. Default 0 (CloudFront's own): a
    stalled Region holds a cache miss attempts x 30 s (S3's response timeout), then fails over."""

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
    """Lambda@Edge: the custom header the failover member carries, so the function knows a retry.
    Default ``X-Geo-Failover``."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the distribution. Default none."""

    web_acl_id: pulumi.Input[str] | None = None
    """The ARN of an AWS WAF web ACL of scope CLOUDFRONT (``WebAcl.arn``, or the operator's own)
    that inspects every request first. Default None: no web ACL."""


@dataclass(frozen=True)
class _Wiring:
    """How one engine wires the distribution: its origins (and origin groups), the default cache
    behavior's target, and the routing function's association."""

    origins: list[aws.cloudfront.DistributionOriginArgs]
    target: str
    origin_groups: list[aws.cloudfront.DistributionOriginGroupArgs] | None = None
    lambda_associations: (
        list[aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs] | None
    ) = None
    function_associations: (
        list[aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs] | None
    ) = None


class GeoProximityDistribution(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    """The distribution's id (``E...``), for invalidations."""

    arn: pulumi.Output[str]
    """The distribution's ARN."""

    domain_name: pulumi.Output[str]
    """The distribution's ``*.cloudfront.net`` domain name."""

    read_grants: pulumi.Output[list[dict[str, Any]]]
    """Who every bucket policy must let read, as ``core.policies`` builds it: the identity
    the distribution signs with, then the next engine's during a switch. Known only once the
    distribution is in place."""

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
        child = pulumi.ResourceOptions(parent=self)
        oai, oac = self._identities(name, args, child)
        if args.engine is Engine.LAMBDA_EDGE:
            assert oai is not None
            wiring = self._lambda_edge_wiring(args, oai)
        else:
            assert oac is not None
            wiring = self._cloudfront_functions_wiring(args, oac)
        distribution = self._distribution(name, args, wiring, child)

        self.distribution_id = distribution.id
        self.arn = distribution.arn
        self.domain_name = distribution.domain_name
        self.read_grants = self._read_grants(args, distribution, oai)
        self.register_outputs(
            {
                "distributionId": self.distribution_id,
                "arn": self.arn,
                "domainName": self.domain_name,
                "readGrants": self.read_grants,
            }
        )

    @staticmethod
    def _identities(
        name: str, args: GeoProximityDistributionArgs, child: pulumi.ResourceOptions
    ) -> tuple[
        aws.cloudfront.OriginAccessIdentity | None, aws.cloudfront.OriginAccessControl | None
    ]:
        """The origin access identity (Lambda@Edge, now or next) and the origin access control
        (CloudFront Functions), each only when an engine signs with it."""
        engines = [args.engine, *([args.next_engine] if args.next_engine else [])]
        # One identity for all buckets: a rerouted request is still signed with the identity of the
        # origin it started from.
        oai = (
            aws.cloudfront.OriginAccessIdentity(
                f"{name}-oai",
                aws.cloudfront.OriginAccessIdentityArgs(
                    comment=comment("granted by every origin bucket")
                ),
                opts=child,
            )
            if Engine.LAMBDA_EDGE in engines
            else None
        )
        oac = (
            aws.cloudfront.OriginAccessControl(
                f"{name}-oac",
                aws.cloudfront.OriginAccessControlArgs(
                    origin_access_control_origin_type="s3",
                    signing_behavior="always",
                    signing_protocol="sigv4",
                    description=comment("signs for every origin bucket"),
                ),
                opts=child,
            )
            if args.engine is Engine.CLOUDFRONT_FUNCTIONS
            else None
        )
        return oai, oac

    @classmethod
    def _lambda_edge_wiring(
        cls, args: GeoProximityDistributionArgs, oai: aws.cloudfront.OriginAccessIdentity
    ) -> _Wiring:
        """The origin group's members, the group, and the origin-request function."""
        origin_groups = cls._origin_groups(args)
        return _Wiring(
            origins=cls._lambda_edge_origins(args, oai),
            origin_groups=origin_groups,
            target=ORIGIN_GROUP_ID if origin_groups else origin_id(args.default_origin),
            lambda_associations=[
                aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                    event_type="origin-request",
                    # CloudFront accepts only a numbered version, never $LATEST or an alias.
                    lambda_arn=args.function_arn,
                    include_body=False,
                )
            ],
        )

    @classmethod
    def _cloudfront_functions_wiring(
        cls, args: GeoProximityDistributionArgs, oac: aws.cloudfront.OriginAccessControl
    ) -> _Wiring:
        """Every bucket as an origin, and the viewer-request function that picks among them."""
        return _Wiring(
            origins=cls._oac_origins(args, oac),
            # Where a request stays when the function chooses nothing.
            target=origin_id(args.default_origin),
            function_associations=[
                aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                    # The origin modification helpers work at viewer-request only.
                    event_type="viewer-request",
                    function_arn=args.function_arn,
                )
            ],
        )

    @classmethod
    def _distribution(
        cls,
        name: str,
        args: GeoProximityDistributionArgs,
        wiring: _Wiring,
        child: pulumi.ResourceOptions,
    ) -> aws.cloudfront.Distribution:
        return aws.cloudfront.Distribution(
            f"{name}-distribution",
            aws.cloudfront.DistributionArgs(
                enabled=True,
                comment=comment("geo-proximity delivery"),
                origins=wiring.origins,
                origin_groups=wiring.origin_groups,
                default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                    target_origin_id=wiring.target,
                    allowed_methods=list(READ_METHODS),
                    cached_methods=list(READ_METHODS),
                    viewer_protocol_policy="redirect-to-https",
                    compress=True,
                    cache_policy_id=CACHING_OPTIMIZED_POLICY_ID,
                    response_headers_policy_id=(
                        SECURITY_HEADERS_POLICY_ID if args.security_headers else None
                    ),
                    lambda_function_associations=wiring.lambda_associations,
                    function_associations=wiring.function_associations,
                ),
                http_version="http2and3",
                is_ipv6_enabled=True,
                default_root_object="index.html",
                price_class=args.price_class,
                aliases=list(args.aliases) or None,
                viewer_certificate=cls._viewer_certificate(args.certificate_arn),
                restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                    geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                        restriction_type="none", locations=[]
                    )
                ),
                tags=dict(args.tags),
                # AWS WAF (v2) web ACLs are given by ARN (CloudFront API reference,
                # DistributionConfig.WebACLId).
                web_acl_id=args.web_acl_id,
                # pulumi-aws's default, set so that nobody turns it off unawares: `pulumi up` waits
                # until the distribution is Deployed everywhere before it changes anything that
                # depends on it. The bucket policies take their grants from the distribution, so an
                # engine switch's grant changes only after every edge signs the new way.
                wait_for_deployment=True,
            ),
            opts=child,
        )

    @staticmethod
    def _read_grants(
        args: GeoProximityDistributionArgs,
        distribution: aws.cloudfront.Distribution,
        oai: aws.cloudfront.OriginAccessIdentity | None,
    ) -> pulumi.Output[list[dict[str, Any]]]:
        """What every bucket policy grants: the engine's identity, then the next engine's."""
        oai_arn = oai.iam_arn if oai is not None else pulumi.Output.from_input("")

        def grants(values: list[str]) -> list[dict[str, Any]]:
            distribution_arn, oai_iam_arn = values

            def grant(engine: Engine) -> dict[str, Any]:
                if engine.origin_access is OriginAccess.OAI:
                    return oai_read_grant(oai_iam_arn)
                return oac_read_grant(distribution_arn)

            now = [grant(args.engine)]
            return [*now, next_engine_grant(grant(args.next_engine))] if args.next_engine else now

        # Through the distribution's ARN even for OAI: a policy changes after the distribution.
        return pulumi.Output.all(distribution.arn, oai_arn).apply(grants)

    @staticmethod
    def _lambda_edge_origins(
        args: GeoProximityDistributionArgs, oai: aws.cloudfront.OriginAccessIdentity
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
        return [
            aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id(region),
                domain_name=args.origin_domain_names[region],
                custom_headers=headers or None,
                connection_attempts=args.connection_attempts,
                connection_timeout=args.connection_timeout,
                response_completion_timeout=args.response_completion_timeout,
                s3_origin_config=aws.cloudfront.DistributionOriginS3OriginConfigArgs(
                    origin_access_identity=oai.cloudfront_access_identity_path
                ),
            )
            for region, headers in members
        ]

    @staticmethod
    def _oac_origins(
        args: GeoProximityDistributionArgs, oac: aws.cloudfront.OriginAccessControl
    ) -> list[aws.cloudfront.DistributionOriginArgs]:
        # Every bucket, each signed for its own Region with the one origin access control: the
        # function selects among them by id (at most ORIGINS_PER_DISTRIBUTION_QUOTA, 100, by
        # default: CloudFront developer guide, "Quotas").
        return [
            aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id(region),
                domain_name=domain_name,
                connection_attempts=args.connection_attempts,
                connection_timeout=args.connection_timeout,
                response_completion_timeout=args.response_completion_timeout,
                origin_access_control_id=oac.id,
            )
            for region, domain_name in args.origin_domain_names.items()
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
