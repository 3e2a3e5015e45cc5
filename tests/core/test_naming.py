import re

import pytest

from core.naming import bucket_prefix
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
    from core.naming import MAX_COMMENT, resource_comment

    assert resource_comment("geo-proximity", "prod", "x") == "geo-proximity/prod: x"
    for length in (1, 90, 100, 200):
        comment = resource_comment("geo-proximity", "s" * length, "granted by every origin bucket")
        assert len(comment) <= MAX_COMMENT
        assert comment.startswith("geo-proximity/s") and comment.endswith(
            ": granted by every origin bucket"
        )


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("prod", "geo-proximity prod alarms"),
        ("Team_A.Staging", "geo-proximity Team_A-Staging alarms"),
        ("s" * 100, ("geo-proximity " + "s" * 100)[:100]),
    ],
)
def test_sns_display_names_keep_only_what_sns_accepts(stack, expected):
    from core.naming import sns_display_name

    name = sns_display_name("geo-proximity", stack, "alarms")
    assert name == expected
    assert len(name) <= 100 and re.fullmatch(r"[A-Za-z0-9 _-]+", name)


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("prod", "geo-proximity-prod"),
        ("Team_A.Staging", "geo-proximity-Team_A-Staging"),
        ("s.t" * 100, ("geo-proximity-" + "s-t" * 100)[:255]),
    ],
)
def test_dashboard_names_keep_only_what_cloudwatch_accepts(stack, expected):
    from core.naming import dashboard_name

    name = dashboard_name("geo-proximity", stack)
    assert name == expected
    assert len(name) <= 255 and re.fullmatch(r"[A-Za-z0-9_-]+", name)


@pytest.mark.parametrize("stack", ["prod", "Team_A.Staging"])
def test_the_monitoring_names_are_the_ones_the_program_declares(stack):
    from core.naming import dashboard_name, sns_display_name
    from settings.table import PROJECT
    from testing.mock_program import deploy, project_config

    deployment = deploy(project_config(origins=["us-east-1", "eu-west-1"]), stack=stack)
    topics = deployment.all("aws:sns/topic:Topic")
    assert topics
    assert {topic.inputs["displayName"] for topic in topics} == {
        sns_display_name(PROJECT, stack, "alarms")
    }
    assert deployment.exports["dashboardName"] == dashboard_name(PROJECT, stack)


@pytest.mark.parametrize(
    ("stack", "table", "function"),
    [
        ("prod", "geo-proximity-prod-routing-state", "geo-proximity-prod-evacuator"),
        # DynamoDB takes dots; Lambda does not: the function's name says so with a hash.
        (
            "Team_A.Staging",
            "geo-proximity-Team_A.Staging-routing-state",
            "geo-proximity-Team_A-Staging-9c06b761-evacuator",
        ),
    ],
)
def test_the_state_table_and_evacuator_names_of_a_stack(stack, table, function):
    from core.naming import evacuator_function_name, state_table_name

    assert state_table_name("geo-proximity", stack) == table
    assert evacuator_function_name("geo-proximity", stack) == function


@pytest.mark.parametrize(
    "stack", ["s" * 100, "a.b", "a-b", "a_b", "x" * 49, "Team_A.Staging", "dev/feature#42", "é"]
)
def test_state_table_and_evacuator_names_fit_and_never_collide(stack):
    from core.naming import evacuator_function_name, state_table_name

    table, function = state_table_name("p" * 100, stack), evacuator_function_name("geo", stack)
    assert aws_rules.is_valid_table_name(table) and table.endswith("-routing-state")
    assert aws_rules.is_valid_function_name(function) and function.endswith("-evacuator")
    # A name changed to fit is told apart from the stack whose name it became.
    for other in ("a-b", "a.b", "s" * 99, "x" * 50):
        if other != stack:
            assert evacuator_function_name("geo", other) != function
            assert state_table_name("p" * 100, other) != table
