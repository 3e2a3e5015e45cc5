"""IAM and bucket policy documents, as plain functions over plain values (testable without
Pulumi)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evacuation.state import ROTATION_PARTITION

CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"
# The managed-policy-free minimum a Lambda@Edge function needs: both services assume its role.
# "The IAM execution role associated with the Lambda function must allow the service principals
# lambda.amazonaws.com and edgelambda.amazonaws.com to assume the role" (CloudFront developer
# guide, "Restrictions on Lambda@Edge", Lambda role permissions,
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html):
# a function whose role edgelambda may not assume is no Lambda@Edge function (./dev cleanup).
LAMBDA_SERVICE = "lambda.amazonaws.com"
EDGE_LAMBDA_SERVICE = "edgelambda.amazonaws.com"
EDGE_FUNCTION_SERVICES = (LAMBDA_SERVICE, EDGE_LAMBDA_SERVICE)
# Replicas run, and log, in every Region with a Regional edge cache.
EDGE_LOG_GROUP_PREFIX = "/aws/lambda/us-east-1."


def oai_read_grant(oai_iam_arn: str) -> dict[str, Any]:
    """Who may read the buckets when CloudFront signs with an origin access identity."""
    return {"principal": {"AWS": oai_iam_arn}}


def oac_read_grant(distribution_arn: str) -> dict[str, Any]:
    """Who may read the buckets when CloudFront signs with origin access control."""
    return {
        "principal": {"Service": CLOUDFRONT_SERVICE},
        "condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


def next_engine_grant(grant: dict[str, Any]) -> dict[str, Any]:
    """``grant`` for the identity a stack is switching to, beside the one in use: its statements
    are named apart, so the switch's second step withdraws exactly them."""
    return {**grant, "sid": "NextEngine"}


def bucket_policy(bucket_arn: str, read_grants: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Let each CloudFront identity of ``read_grants`` read objects (and list, so a missing key is a
    404, not a 403); refuse every request that is not over TLS."""

    def allow(grant: dict[str, Any], purpose: str, action: str, resource: str) -> dict[str, Any]:
        statement = {
            "Sid": f"{grant.get('sid', 'CloudFront')}{purpose}",
            "Effect": "Allow",
            "Principal": grant["principal"],
            "Action": action,
            "Resource": resource,
        }
        if grant.get("condition"):
            statement["Condition"] = grant["condition"]
        return statement

    return {
        "Version": "2012-10-17",
        "Statement": [
            *(
                statement
                for grant in read_grants
                for statement in (
                    allow(grant, "ReadObjects", "s3:GetObject", f"{bucket_arn}/*"),
                    allow(grant, "ListBucket", "s3:ListBucket", bucket_arn),
                )
            ),
            deny_insecure_transport("s3:*", [bucket_arn, f"{bucket_arn}/*"]),
        ],
    }


def deny_insecure_transport(actions: str, resources: str | list[str]) -> dict[str, Any]:
    """A resource policy statement refusing every request made without TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


# No aws:SourceAccount (nor aws:SourceArn) in a Lambda execution role's trust policy. The Lambda
# developer guide asks only that "the role's trust policy must specify the Lambda service principal
# (lambda.amazonaws.com) as a trusted service" ("Defining Lambda function permissions with an
# execution role", https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html),
# and no AWS page we found says Lambda (or Lambda@Edge) puts aws:SourceAccount in the request
# context when it assumes the role; the key "is only available when the call to your resource is
# made directly by an AWS service principal" and only where its Availability says so (IAM user
# guide, "AWS global condition context keys"). A condition on a key the service does not send
# refuses the AssumeRole, and CreateFunction fails. What keeps another account from using the role
# is iam:PassRole: only principals of this account may pass it to a function.
def lambda_execution_trust_policy() -> dict[str, Any]:
    """Lambda may assume the role, as the Lambda developer guide shows it: nothing more."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": LAMBDA_SERVICE},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def edge_function_trust_policy() -> dict[str, Any]:
    """Lambda and Lambda@Edge may assume the role (and no condition: see above)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": list(EDGE_FUNCTION_SERVICES)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def edge_function_logging_policy(account_id: str, function_name: str) -> dict[str, Any]:
    """Write this function's logs, and nothing else, in any Region where a replica runs."""
    groups = [
        f"arn:aws:logs:*:{account_id}:log-group:{name}"
        for name in edge_function_log_group_names(function_name)
    ]
    # IAM matches a log group by its ARN for CreateLogGroup and by the ":*" form (the group's
    # streams) for the others; both forms are granted for all three actions, so neither a Region's
    # ARN shape nor the action decides whether a replica can log.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [form for group in groups for form in (group, f"{group}:*")],
            },
        ],
    }


def edge_function_log_group_names(function_name: str) -> tuple[str, str]:
    """Where Lambda@Edge writes: ``/aws/lambda/us-east-1.<name>`` in each Region where a replica
    runs, and ``/aws/lambda/<name>`` in us-east-1 for direct invocations (a console test)."""
    return f"{EDGE_LOG_GROUP_PREFIX}{function_name}", f"/aws/lambda/{function_name}"


def replication_trust_policy() -> dict[str, Any]:
    """S3 may assume the replication role: the trust policy of the S3 user guide's "Setting up
    permissions for live replication" (Step 2), as it is. That page, like the Batch Replication
    one, names no confused-deputy condition, and none is documented for S3 replication, so none is
    added that could keep S3 from assuming the role and fail every replication silently; only this
    account's principals may pass the role to a replication configuration (iam:PassRole)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def replication_role_policy(bucket_arns: list[str]) -> dict[str, Any]:
    """Exactly what S3 replication needs between these buckets, each a source and a destination."""
    buckets = sorted(bucket_arns)
    objects = [f"{arn}/*" for arn in buckets]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadReplicationConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": buckets,
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": objects,
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": objects,
            },
        ],
    }


def service_trust_policy(service: str, account_id: str) -> dict[str, Any]:
    """``service`` may assume the role on behalf of this account only: the ``aws:SourceAccount``
    condition guards against the confused deputy (IAM user guide, "The confused deputy problem";
    EventBridge Scheduler user guide, "Confused deputy prevention": "Use aws:SourceAccount if you
    want to allow any resource in that account to be associated with the cross-service use")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def state_table_arn(account_id: str, table_name: str) -> str:
    """The routing state table in every Region of this account: a global table has one name and
    a replica (an ARN of its own Region) wherever it is read or written."""
    return f"arn:aws:dynamodb:*:{account_id}:table/{table_name}"


def state_reader_policy(account_id: str, table_name: str) -> dict[str, Any]:
    """What the Lambda@Edge function needs to read the routing state: a Query of the ``rotation``
    partition of this stack's table (``ROTATION_PARTITION``, what the edge reads), in whichever
    Region's replica it reads, and nothing more. ``dynamodb:LeadingKeys`` is the partition key's
    value ("Using IAM policy conditions for fine-grained access control", DynamoDB developer
    guide, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html,
    whose examples use ForAllValues:StringEquals); ForAllValues is also true when the key is absent
    from the request (IAM user guide, "Single-valued vs. multivalued context keys"), so a Null
    condition requires it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadRoutingState",
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": state_table_arn(account_id, table_name),
                "Condition": {
                    "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [ROTATION_PARTITION]},
                    "Null": {"dynamodb:LeadingKeys": "false"},
                },
            }
        ],
    }


def evacuator_policy(
    account_id: str,
    *,
    health_objects: Sequence[str],
    table_name: str,
    log_groups: Sequence[str],
    kvs_arn: str | None,
    topic_arn: str | None,
    metric_namespace: str,
) -> dict[str, Any]:
    """Exactly what the evacuator does, no more (``tests/evacuation/test_budget.py`` records every
    request its code sends and holds this policy to them): read each bucket's health object
    (``bucket/key`` paths) and nothing else of it; read, query and write this stack's state table
    (its own view, the committed version, what the store holds); with CloudFront Functions,
    describe, read and write this stack's key value store (a writer never replaces a newer
    version); notify this stack's
    alarm topic; publish metrics in ``metric_namespace`` only ("Using condition keys to limit
    access to CloudWatch namespaces", CloudWatch user guide); write its own logs (``log_groups``:
    ARNs)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadHealthObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::{path}" for path in sorted(health_objects)],
        },
        {
            "Sid": "ReadWriteRoutingState",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            "Resource": state_table_arn(account_id, table_name),
        },
    ]
    if kvs_arn is not None:
        statements.append(
            {
                "Sid": "PublishRoutingState",
                "Effect": "Allow",
                "Action": [
                    "cloudfront-keyvaluestore:DescribeKeyValueStore",
                    "cloudfront-keyvaluestore:GetKey",
                    "cloudfront-keyvaluestore:PutKey",
                ],
                "Resource": kvs_arn,
            }
        )
    if topic_arn is not None:
        statements.append(
            {"Sid": "Notify", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn}
        )
    statements += [
        {
            "Sid": "PublishMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            # PutMetricData has no resource type: "*" with the namespace as the condition.
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": metric_namespace}},
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            # The groups are declared before the functions: no logs:CreateLogGroup.
            "Resource": [form for group in log_groups for form in (group, f"{group}:*")],
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def invoke_policy(function_arns: Sequence[str]) -> dict[str, Any]:
    """Invoke these functions (their unqualified ARNs, as a schedule targets them), no other."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeEvacuators",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": sorted(function_arns),
            }
        ],
    }


# S3 Batch Operations assumes the role of a Batch Replication job (S3 user guide, "Configuring an
# IAM role for S3 Batch Replication").
BATCH_OPERATIONS_SERVICE = "batchoperations.s3.amazonaws.com"


def batch_operations_trust_policy() -> dict[str, Any]:
    """S3 Batch Operations may assume the role: the trust policy of the S3 user guide's "Configuring
    an IAM role for S3 Batch Replication", as it is. That page names no confused-deputy condition
    for this service, so none is added that could stop a job from assuming the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": BATCH_OPERATIONS_SERVICE},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def batch_replication_policy(
    source_bucket_arns: Sequence[str], report_bucket_arns: Sequence[str]
) -> dict[str, Any]:
    """What a Batch Replication job with a generated, stored manifest needs, and nothing else: the
    S3 user guide's "Policy if using and storing an Amazon S3 generated manifest", over these
    buckets. Each origin bucket can be a source; the manifest and the completion report go to the
    batch bucket of the source's Region (a generated manifest "must be stored in the same AWS Region
    as the source bucket")."""
    sources = sorted(source_bucket_arns)
    reports = sorted(report_bucket_arns)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InitiateReplication",
                "Effect": "Allow",
                "Action": ["s3:InitiateReplication"],
                "Resource": [f"{arn}/*" for arn in sources],
            },
            {
                "Sid": "GenerateManifest",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
                "Resource": sources,
            },
            {
                "Sid": "ReadManifest",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"{arn}/*" for arn in reports],
            },
            {
                "Sid": "WriteManifestAndReport",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"{arn}/*" for arn in reports],
            },
        ],
    }
