import pytest

from components.naming import bucket_prefix
from tests import aws_rules


@pytest.mark.parametrize(
    ("project", "stack", "region", "expected"),
    [
        ("geo-proximity", "prod", "us-east-1", "geo-proximity-prod-us-east-1-"),
        ("geo-proximity", "Team_A.Staging", "eu-west-1", "geo-proximity-team-a-stagi-eu-west-1-"),
        (
            "geo-proximity",
            "a-very-long-stack-name-indeed",
            "ap-southeast-7",
            "geo-proximity-a-very-ap-southeast-7-",
        ),
        ("__", "__", "us-east-1", "geo-us-east-1-"),
    ],
)
def test_bucket_prefix_is_readable_and_valid(project, stack, region, expected):
    prefix = bucket_prefix(project, stack, region)
    assert prefix == expected
    assert len(prefix) <= 37
    # S3 appends 26 lowercase characters and digits.
    assert aws_rules.is_valid_bucket_name(prefix + "0" * 26)


def test_comments_fit_cloudfronts_limit_whatever_the_stack_name():
    from components.naming import MAX_COMMENT, resource_comment

    assert resource_comment("geo-proximity", "prod", "x") == "geo-proximity/prod: x"
    for length in (1, 90, 100, 200):
        comment = resource_comment("geo-proximity", "s" * length, "granted by every origin bucket")
        assert len(comment) <= MAX_COMMENT
        assert comment.startswith("geo-proximity/s") and comment.endswith(
            ": granted by every origin bucket"
        )
