"""EdgeFunction: the Lambda@Edge origin-request router, its role and its package, in us-east-1.

CloudFront accepts Lambda@Edge functions from us-east-1 only, as a numbered version (CloudFront
developer guide, "Restrictions on Lambda@Edge"), so the function lives in us-east-1 whatever the
stack's ``aws:region`` is and the component exposes ``qualified_arn``, the ARN of the version
published with this package. Lambda@Edge has no environment variables, so the routing table is baked
into the package as ``routing.json``: the same table and buckets give the same bytes, and so no new
version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.policies import edge_function_logging_policy, edge_function_trust_policy
from edge_function.package import HANDLER_NAME, routing_package_files
from routing.artifact import DEFAULT_MARKER_HEADER
from routing.table import RoutingTable

LAMBDA_EDGE_REGION = "us-east-1"
EDGE_FUNCTION_RUNTIME = "python3.13"
# Origin-request functions may take up to 30 s; this one answers in microseconds, so 5 s is generous
# and a hung replica fails fast into the origin group's failover instead of holding the viewer.
EDGE_FUNCTION_TIMEOUT_SECONDS = 5
EDGE_FUNCTION_MEMORY_MB = 128


@dataclass(frozen=True)
class EdgeFunctionArgs:
    routing: RoutingTable
    """Required. Where every edge Region sends a cache miss (``derive_routing_table``)."""

    bucket_names: Mapping[str, pulumi.Input[str]]
    """Origin Region → the name of its bucket, for every origin of ``routing``. Required."""

    marker_header: str = DEFAULT_MARKER_HEADER
    """The custom header the origin group's failover member carries. Default ``X-Geo-Failover``."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the function and its role. Default none."""


class EdgeFunction(pulumi.ComponentResource):
    qualified_arn: pulumi.Output[str]
    """The published version's ARN (``...:function:<name>:<version>``): what CloudFront uses."""

    function_name: pulumi.Output[str]
    """The function's name; its replicas log to ``/aws/lambda/us-east-1.<name>`` where they run."""

    role_arn: pulumi.Output[str]
    """The execution role: trusted by Lambda and Lambda@Edge, allowed to write its own logs only."""

    def __init__(
        self, name: str, args: EdgeFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("geo-proximity:index:EdgeFunction", name, None, opts)
        tags = dict(args.tags)
        # Lambda@Edge functions live in us-east-1, whatever aws:region says; the role is global.
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(
                assume_role_policy=json.dumps(edge_function_trust_policy()),
                description="Lambda@Edge origin-request router: writes its own logs, nothing else",
                tags=tags,
            ),
            opts=child,
        )
        routing, marker_header = args.routing, args.marker_header
        code = pulumi.Output.all(**args.bucket_names).apply(
            lambda names: pulumi.AssetArchive(
                {
                    file_name: pulumi.StringAsset(text)
                    for file_name, text in routing_package_files(
                        routing, names, marker_header=marker_header
                    ).items()
                }
            )
        )
        function = aws.lambda_.Function(
            f"{name}-function",
            aws.lambda_.FunctionArgs(
                region=LAMBDA_EDGE_REGION,
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
            opts=child,
        )
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self)
        ).account_id
        aws.iam.RolePolicy(
            f"{name}-logs",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(account_id, function.name).apply(
                    lambda values: json.dumps(edge_function_logging_policy(values[0], values[1]))
                ),
            ),
            opts=child,
        )

        self.qualified_arn = function.qualified_arn
        self.function_name = function.name
        self.role_arn = role.arn
        self.register_outputs(
            {
                "qualifiedArn": self.qualified_arn,
                "functionName": self.function_name,
                "roleArn": self.role_arn,
            }
        )
