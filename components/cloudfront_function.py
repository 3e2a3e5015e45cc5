"""CloudFrontFunctionRouter: the CloudFront Functions engine's viewer-request router, its log group.

The code is generated from the routing table (``edge_function.cloudfront_function``) at deploy
time, deterministically, so an unchanged routing table publishes nothing new. CloudFront Functions
are global; their logs go to CloudWatch Logs in us-east-1, to ``/aws/cloudfront/function/<name>``
(CloudFront developer guide, "Edge function logs"), which is declared first with a retention so that
it expires. The function writes only when something surprises it (see ``router.js``). The origins
the stack drains are in its code; which others are out of rotation it reads at run time from the
key value store it is associated with (``kvs_arn``, ``state_key``): an evacuation publishes no code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aliases import known_before_as
from core.cloudfront import DEFAULT_FAILOVER_STATUS_CODES
from core.monitoring import DEFAULT_LOG_RETENTION_DAYS
from core.naming import resource_comment
from edge_function.cloudfront_function import RUNTIME, render_function_code
from routing.table import RoutingTable

# CloudFront Functions log here, whichever edge ran them.
FUNCTION_LOG_REGION = "us-east-1"
FUNCTION_LOG_GROUP_PREFIX = "/aws/cloudfront/function/"

# The component's type token before it was named after its engine: stacks deployed then keep it.
_PREVIOUS_TYPE = "geo-proximity:index:RouterFunction"


class CloudFrontFunctionRouterError(ValueError):
    """CloudFrontFunctionRouterArgs that do not describe a function CloudFront can run."""


@dataclass(frozen=True)
class CloudFrontFunctionRouterArgs:
    routing: RoutingTable
    """Required. Where every edge Region sends its requests (``derive_routing_table``)."""

    failover_status_codes: Sequence[int] = DEFAULT_FAILOVER_STATUS_CODES
    """Origin status codes on which a request's origin group fails over.
    Default ``403, 404, 500, 502, 503, 504``."""

    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    """Days CloudWatch keeps the function's logs. Default ``DEFAULT_LOG_RETENTION_DAYS``."""

    kvs_arn: pulumi.Input[str] | None = None
    """The key value store the function reads the origins out of rotation from
    (``RoutingState.kvs_arn``, or with an evacuator ``Evacuator.synced_kvs_arn``): the function is
    associated with it, and so published, only once this resolves. Default None: no store (one
    origin); the rankings alone decide."""

    state_key: str | None = None
    """The key the function reads in ``kvs_arn``: ``ROTATION_KEY`` with an evacuator,
    ``DRAINED_KEY`` without. Required with a store. Default None."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the function and its log group. Default none."""

    def __post_init__(self) -> None:
        if (self.kvs_arn is None) != (self.state_key is None):
            raise CloudFrontFunctionRouterError(
                "kvs_arn and state_key go together: the store and the key the function reads"
            )
        # CloudFront quotas, "Quotas on key value stores": "Maximum size of a key in a key-value
        # pair: 512 Bytes".
        if self.state_key is not None and not 1 <= len(self.state_key.encode("utf-8")) <= 512:
            raise CloudFrontFunctionRouterError(f"state_key {self.state_key!r} is not 1-512 bytes")


class CloudFrontFunctionRouter(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    """The function's ARN, for the distribution's viewer-request association."""

    function_name: pulumi.Output[str]
    """The function's name; it logs to ``/aws/cloudfront/function/<name>`` in us-east-1."""

    code_bytes: int
    """The size of the generated code (CloudFront Functions accept at most 10 KB)."""

    def __init__(
        self,
        name: str,
        args: CloudFrontFunctionRouterArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "geo-proximity:index:CloudFrontFunctionRouter",
            name,
            None,
            known_before_as(_PREVIOUS_TYPE, opts),
        )
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        code = render_function_code(args.routing, args.failover_status_codes, args.state_key)
        function = aws.cloudfront.Function(
            f"{name}-function",
            aws.cloudfront.FunctionArgs(
                runtime=RUNTIME,
                code=code,
                # Associations use the LIVE stage: every code change is published at once.
                publish=True,
                # "A function can have only one key value store" (CloudFront developer guide,
                # "Associate a key value store with a function"); an evacuation writes to it and
                # publishes no code.
                key_value_store_associations=[args.kvs_arn] if args.kvs_arn is not None else None,
                comment=resource_comment(
                    pulumi.get_project(), pulumi.get_stack(), "routes to the nearest S3 origin"
                ),
                tags=tags,
            ),
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            aws.cloudwatch.LogGroupArgs(
                region=FUNCTION_LOG_REGION,
                name=function.name.apply(
                    lambda function_name: FUNCTION_LOG_GROUP_PREFIX + function_name
                ),
                retention_in_days=args.log_retention_days,
                tags=tags,
            ),
            opts=child,
        )
        # The distribution runs the function only once its log group exists with a retention.
        self.arn = pulumi.Output.all(function.arn, log_group.name).apply(
            lambda values: str(values[0])
        )
        self.function_name = function.name
        self.code_bytes = len(code.encode("utf-8"))
        self.register_outputs(
            {"arn": self.arn, "functionName": self.function_name, "codeBytes": self.code_bytes}
        )
