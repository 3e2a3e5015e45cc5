"""The names monitoring gives its topics and dashboard: pure functions of core.naming."""

import re
from pathlib import Path

import pytest

from components import monitoring
from core.naming import dashboard_name, sns_display_name
from tests import aws_rules

STACKS = ["prod", "Team_A.Staging", "dev/feature#42", "s" * 200, "é-ü", ""]


def test_the_names_of_the_shipped_stack():
    assert sns_display_name("geo-proximity", "prod", "alarms") == "geo-proximity prod alarms"
    assert dashboard_name("geo-proximity", "prod") == "geo-proximity-prod"


@pytest.mark.parametrize("stack", STACKS)
def test_sns_display_names_hold_only_what_sns_accepts(stack):
    name = sns_display_name("geo-proximity", stack, "alarms")
    # Letters, digits, spaces, hyphens and underscores, at most 100 characters.
    assert len(name) <= 100 and all(c.isalnum() or c in " -_" for c in name), name
    assert name.startswith("geo-proximity ")
    # What monitoring.py built inline before the function existed.
    assert name == re.sub(r"[^\w -]", "-", f"geo-proximity {stack} alarms")[:100]


@pytest.mark.parametrize("stack", STACKS)
def test_dashboard_names_hold_only_what_cloudwatch_accepts(stack):
    name = dashboard_name("geo-proximity", stack)
    assert aws_rules.DASHBOARD_NAME.match(name), name
    assert name == re.sub(r"[^A-Za-z0-9_-]", "-", f"geo-proximity-{stack}")[:255]


def test_a_long_stack_name_is_cut_to_each_services_limit():
    assert len(sns_display_name("geo-proximity", "s" * 200, "alarms")) == 100
    assert len(dashboard_name("geo-proximity", "s" * 300)) == 255
    assert dashboard_name("geo-proximity", "a.b c") == "geo-proximity-a-b-c"
    assert sns_display_name("geo-proximity", "a.b/c", "alarms") == "geo-proximity a-b-c alarms"


def test_monitoring_builds_no_name_with_a_regular_expression_of_its_own():
    text = Path(monitoring.__file__).read_text(encoding="utf-8")
    assert "re.sub" not in text and "import re\n" not in text
