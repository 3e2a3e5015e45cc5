"""GeoProximityDistribution: the CloudFront distribution, its origin group and the routing function.

The origin-request function (Lambda@Edge) sends each cache miss to the bucket nearest the edge; the
origin group retries a failed request on its failover member, which carries the marker header the
function recognises. CloudFront signs a rerouted request with the identity of the origin it started
from, so every bucket must grant the one identity this component exposes as ``read_grant``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.policies import (
    edge_function_logging_policy,
    edge_function_trust_policy,
    oac_read_grant,
    oai_read_grant,
)
from components.providers import regional_provider
from components.regional_origin import RegionalOrigin
from edge_function.package import HANDLER_NAME, stack_package_files
from routing.table import FailoverMode
from settings import OriginAccess, Settings

EDGE_FUNCTION_RUNTIME = "python3.13"
# Origin-request functions may take up to 30 s; this one answers in microseconds, so 5 s is generous
# and a hung replica fails fast into the origin group's failover instead of holding the viewer.
EDGE_FUNCTION_TIMEOUT_SECONDS = 5
EDGE_FUNCTION_MEMORY_MB = 128
# AWS managed cache policy "Managed-CachingOptimized".
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
# Origin groups fail over only for these methods; a behavior that targets one may allow no others.
READ_METHODS = ["GET", "HEAD", "OPTIONS"]
CACHED_METHODS = ["GET", "HEAD"]
ORIGIN_GROUP_ID = "geo-proximity-group"


def origin_id(region: str) -> str:
    return f"s3-{region}"


@dataclass(frozen=True)
class GeoProximityDistributionArgs:
    settings: Settings
    origins: Mapping[str, RegionalOrigin]


class GeoProximityDistribution(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    function_version_arn: pulumi.Output[str]
    read_grant: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        args: GeoProximityDistributionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("geo-proximity:cdn:GeoProximityDistribution", name, None, opts)
        settings = args.settings
        tags = dict(settings.tags)

        function = self._edge_function(name, settings, args.origins, tags)
        access = self._access_identity(name, settings.origin_access)
        origins = self._group_origins(settings, args.origins, access)
        distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            aws.cloudfront.DistributionArgs(
                enabled=True,
                comment=f"{pulumi.get_project()}/{pulumi.get_stack()}: geo-proximity delivery",
                origins=origins,
                origin_groups=self._origin_groups(settings),
                default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                    target_origin_id=(
                        origin_id(settings.routing.default_origin)
                        if settings.routing.failover_mode is FailoverMode.OFF
                        else ORIGIN_GROUP_ID
                    ),
                    allowed_methods=READ_METHODS,
                    cached_methods=CACHED_METHODS,
                    viewer_protocol_policy="redirect-to-https",
                    compress=True,
                    cache_policy_id=CACHING_OPTIMIZED_POLICY_ID,
                    lambda_function_associations=[
                        aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                            event_type="origin-request",
                            # CloudFront accepts only a numbered version, never $LATEST or an alias.
                            lambda_arn=function.qualified_arn,
                            include_body=False,
                        )
                    ],
                ),
                http_version="http2and3",
                is_ipv6_enabled=True,
                default_root_object="index.html",
                price_class=settings.price_class,
                aliases=list(settings.aliases) or None,
                viewer_certificate=self._viewer_certificate(settings),
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
        self.function_version_arn = function.qualified_arn
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
                "functionVersionArn": self.function_version_arn,
                "readGrant": self.read_grant,
            }
        )

    def _edge_function(
        self,
        name: str,
        settings: Settings,
        origins: Mapping[str, RegionalOrigin],
        tags: dict[str, str],
    ) -> aws.lambda_.Function:
        # Lambda@Edge functions must live in us-east-1, whatever aws:region says.
        us_east_1 = regional_provider(f"{name}-us-east-1", "us-east-1", parent=self)
        edge = pulumi.ResourceOptions(parent=self, provider=us_east_1)
        role = aws.iam.Role(
            f"{name}-edge-role",
            aws.iam.RoleArgs(
                assume_role_policy=json.dumps(edge_function_trust_policy()),
                description="Lambda@Edge origin-request router: writes its own logs, nothing else",
                tags=tags,
            ),
            opts=edge,
        )
        bucket_names = pulumi.Output.all(
            **{region: origin.bucket_name for region, origin in origins.items()}
        )
        code = bucket_names.apply(
            lambda names: pulumi.AssetArchive(
                {
                    file_name: pulumi.StringAsset(text)
                    for file_name, text in stack_package_files(settings, names).items()
                }
            )
        )
        function = aws.lambda_.Function(
            f"{name}-edge-router",
            aws.lambda_.FunctionArgs(
                role=role.arn,
                runtime=EDGE_FUNCTION_RUNTIME,
                architectures=["x86_64"],
                handler=HANDLER_NAME,
                code=code,
                memory_size=EDGE_FUNCTION_MEMORY_MB,
                timeout=EDGE_FUNCTION_TIMEOUT_SECONDS,
                # CloudFront needs a numbered version; every routing change publishes a new one.
                publish=True,
                # Replicas outlive the association by hours and block deletion until then: on
                # destroy the function leaves the stack and stays in the account (see README).
                skip_destroy=True,
                description="Routes CloudFront cache misses to the nearest regional S3 origin",
                tags=tags,
            ),
            opts=edge,
        )
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self, provider=us_east_1)
        ).account_id
        aws.iam.RolePolicy(
            f"{name}-edge-logs",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(account_id, function.name).apply(
                    lambda values: json.dumps(edge_function_logging_policy(values[0], values[1]))
                ),
            ),
            opts=edge,
        )
        return function

    def _access_identity(
        self, name: str, origin_access: OriginAccess
    ) -> aws.cloudfront.OriginAccessIdentity | aws.cloudfront.OriginAccessControl:
        # One identity for all buckets: a rerouted request is still signed with the identity of the
        # origin it started from.
        if origin_access is OriginAccess.OAI:
            return aws.cloudfront.OriginAccessIdentity(
                f"{name}-oai",
                aws.cloudfront.OriginAccessIdentityArgs(
                    comment=f"{pulumi.get_project()}/{pulumi.get_stack()}: granted by every origin bucket"
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            aws.cloudfront.OriginAccessControlArgs(
                origin_access_control_origin_type="s3",
                signing_behavior="always",
                signing_protocol="sigv4",
                description=f"{pulumi.get_project()}/{pulumi.get_stack()}: granted by every origin bucket",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _group_origins(
        settings: Settings,
        origins: Mapping[str, RegionalOrigin],
        access: aws.cloudfront.OriginAccessIdentity | aws.cloudfront.OriginAccessControl,
    ) -> list[aws.cloudfront.DistributionOriginArgs]:
        # Only the origin group's members are declared: the function reaches every other bucket by
        # rewriting the request, which keeps large stacks under CloudFront's origins-per-distribution quota.
        members = [(settings.routing.default_origin, [])]
        if settings.routing.failover_origin is not None:
            marker = aws.cloudfront.DistributionOriginCustomHeaderArgs(name=settings.marker_header, value="true")
            members.append((settings.routing.failover_origin, [marker]))
        if isinstance(access, aws.cloudfront.OriginAccessIdentity):
            signing: dict[str, Any] = {
                "s3_origin_config": aws.cloudfront.DistributionOriginS3OriginConfigArgs(
                    origin_access_identity=access.cloudfront_access_identity_path
                )
            }
        else:
            signing = {"origin_access_control_id": access.id}
        return [
            aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id(region),
                domain_name=origins[region].domain_name,
                custom_headers=headers or None,
                **signing,
            )
            for region, headers in members
        ]

    @staticmethod
    def _origin_groups(settings: Settings) -> list[aws.cloudfront.DistributionOriginGroupArgs] | None:
        if settings.routing.failover_mode is FailoverMode.OFF:
            return None
        return [
            aws.cloudfront.DistributionOriginGroupArgs(
                origin_id=ORIGIN_GROUP_ID,
                failover_criteria=aws.cloudfront.DistributionOriginGroupFailoverCriteriaArgs(
                    status_codes=list(settings.failover_status_codes)
                ),
                members=[
                    aws.cloudfront.DistributionOriginGroupMemberArgs(origin_id=origin_id(region))
                    for region in (settings.routing.default_origin, settings.routing.failover_origin)
                ],
            )
        ]

    @staticmethod
    def _viewer_certificate(settings: Settings) -> aws.cloudfront.DistributionViewerCertificateArgs:
        if settings.certificate_arn is None:
            return aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)
        return aws.cloudfront.DistributionViewerCertificateArgs(
            acm_certificate_arn=settings.certificate_arn,
            ssl_support_method="sni-only",
            minimum_protocol_version="TLSv1.2_2021",
        )
