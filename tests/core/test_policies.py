from core.policies import (
    bucket_policy,
    edge_function_logging_policy,
    edge_function_trust_policy,
    lambda_execution_trust_policy,
    next_engine_grant,
    oac_read_grant,
    oai_read_grant,
    replication_trust_policy,
    service_trust_policy,
    state_reader_policy,
)
from edge_function import origin_request
from evacuation.state import ROTATION_PARTITION
from tests import aws_rules

BUCKET_ARN = "arn:aws:s3:::geo-assets-eu-west-1"


def test_oai_grant_reads_objects_and_lists_and_nothing_else():
    document = bucket_policy(
        BUCKET_ARN,
        [oai_read_grant("arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1")],
    )
    allows = {s["Action"]: s for s in document["Statement"] if s["Effect"] == "Allow"}
    assert allows["s3:GetObject"]["Resource"] == f"{BUCKET_ARN}/*"
    assert allows["s3:ListBucket"]["Resource"] == BUCKET_ARN
    assert all(
        s["Principal"]
        == {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1"}
        for s in allows.values()
    )
    assert all("Condition" not in s for s in allows.values())


def test_oac_grant_is_bound_to_one_distribution():
    arn = "arn:aws:cloudfront::123456789012:distribution/E1GEO"
    document = bucket_policy(BUCKET_ARN, [oac_read_grant(arn)])
    for statement in document["Statement"]:
        if statement["Effect"] == "Allow":
            assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
            assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": arn}}


def test_during_an_engine_switch_both_identities_read_under_their_own_statement_ids():
    oai = oai_read_grant("arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1")
    oac = oac_read_grant("arn:aws:cloudfront::123456789012:distribution/E1GEO")
    document = bucket_policy(BUCKET_ARN, [oai, next_engine_grant(oac)])
    allows = {s["Sid"]: s for s in document["Statement"] if s["Effect"] == "Allow"}
    assert set(allows) == {
        "CloudFrontReadObjects",
        "CloudFrontListBucket",
        "NextEngineReadObjects",
        "NextEngineListBucket",
    }
    assert allows["CloudFrontReadObjects"]["Principal"] == oai["principal"]
    assert allows["NextEngineReadObjects"]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allows["NextEngineReadObjects"]["Condition"] == oac["condition"]
    assert "Condition" not in allows["CloudFrontListBucket"]


def test_every_bucket_policy_denies_requests_without_tls():
    (deny,) = [
        s
        for s in bucket_policy(BUCKET_ARN, [oai_read_grant("x")])["Statement"]
        if s["Effect"] == "Deny"
    ]
    assert deny == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_edge_function_role_documents():
    trust = edge_function_trust_policy()
    assert trust["Statement"][0]["Principal"]["Service"] == [
        "lambda.amazonaws.com",
        "edgelambda.amazonaws.com",
    ]
    (statement,) = edge_function_logging_policy("123456789012", "router-1a2b")["Statement"]
    assert statement["Action"] == [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    group = "arn:aws:logs:*:123456789012:log-group:/aws/lambda/us-east-1.router-1a2b"
    direct = "arn:aws:logs:*:123456789012:log-group:/aws/lambda/router-1a2b"
    # Each group as its ARN and in its ":*" form, and nothing else.
    assert statement["Resource"] == [group, f"{group}:*", direct, f"{direct}:*"]


def test_a_lambda_execution_role_is_trusted_by_lambda_on_no_condition():
    (statement,) = lambda_execution_trust_policy()["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    assert aws_rules.trust_policy_problems(lambda_execution_trust_policy()) == []
    assert aws_rules.trust_policy_problems(edge_function_trust_policy()) == []
    assert aws_rules.trust_policy_problems(replication_trust_policy()) == []


def test_the_trust_check_finds_a_condition_lambda_does_not_send():
    # What the evacuator's role said before, and the replication role's.
    conditioned = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": ["s3.amazonaws.com"]},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::b"}},
            },
        ]
    }
    assert aws_rules.trust_policy_problems(conditioned) == [
        "lambda.amazonaws.com on aws:sourceaccount",
        "s3.amazonaws.com on aws:sourcearn",
    ]
    # EventBridge Scheduler documents both keys: its role keeps them.
    scheduler = service_trust_policy("scheduler.amazonaws.com", "123456789012")
    assert scheduler["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"}
    }
    assert aws_rules.trust_policy_problems(scheduler) == []


def test_the_edge_may_query_the_rotation_partition_and_nothing_else():
    (statement,) = state_reader_policy("123456789012", "geo-prod-routing-state")["Statement"]
    assert statement["Action"] == "dynamodb:Query"
    condition = statement["Condition"]
    # What the edge's handler asks for (a partition key condition on "rotation"), and what the
    # evacuator's writers keep there.
    assert condition["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] == [
        origin_request.STATE_PARTITION
    ]
    assert origin_request.STATE_PARTITION == ROTATION_PARTITION
    assert condition["Null"] == {"dynamodb:LeadingKeys": "false"}
