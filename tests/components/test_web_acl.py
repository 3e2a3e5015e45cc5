"""The web ACL in front (webAcl), under mocks: the program's own with AWS managed rule groups and a
rate limit, or the operator's by ARN; attached to the distribution, drawn on the dashboard."""

import json
import re

import pytest

from core.waf import DEFAULT_WAF_RATE_LIMIT
from testing.mock_program import WEB_ACL
from tests import aws_rules
from tests.components.conftest import OWN_WEB_ACL_ARN, deployed

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
MANAGED = {"web-acl-managed": 500, "functions-web-acl-managed": DEFAULT_WAF_RATE_LIMIT}
OWN = ["web-acl-arn", "functions-web-acl-arn"]


_TERM = re.compile(r'(NOT )?(\w+)="([^"]*)"')


def search_matches(expression, series):
    """Whether a CloudWatch SEARCH expression made of exact-match terms (``Name="value"``, each
    may be preceded by NOT, all of them ANDed) selects a series (its dimensions and metric name):
    the subset of "CloudWatch search expression syntax" the dashboard uses."""
    term = expression.split("}", 1)[1].rsplit("'", 3)[0]
    terms = _TERM.findall(term)
    assert terms and _TERM.sub("", term).strip() == "", term
    return all((series.get(name) == value) != bool(negated) for negated, name, value in terms)


def web_acl_graph(deployment):
    widgets = json.loads(deployment.one(DASHBOARD).inputs["dashboardBody"])["widgets"]
    return [w for w in widgets if w["properties"].get("title", "").startswith("Web ACL")]


@pytest.mark.parametrize(("scenario", "limit"), MANAGED.items())
def test_managed_declares_a_cloudfront_scope_web_acl_in_us_east_1_that_aws_waf_accepts(
    scenario, limit
):
    deployment = deployed(scenario)
    acl = deployment.one(WEB_ACL)
    assert acl.region == aws_rules.WAF_CLOUDFRONT_REGION
    assert aws_rules.web_acl_problems(acl.inputs) == []
    assert acl.inputs["defaultAction"] == {"allow": {}}
    rules = sorted(acl.inputs["rules"], key=lambda rule: rule["priority"])
    groups = [
        rule["statement"]["managedRuleGroupStatement"]
        for rule in rules
        if "managedRuleGroupStatement" in rule["statement"]
    ]
    assert {group["name"] for group in groups} == set(aws_rules.AWS_MANAGED_RULE_GROUP_WCU)
    assert all(group["vendorName"] == "AWS" for group in groups)
    assert all(r["overrideAction"] == {"none": {}} for r in rules if "overrideAction" in r)
    # The rate limit runs first, per client IP, over 5 minutes, with the setting's limit.
    assert rules[0]["statement"]["rateBasedStatement"] == {
        "limit": limit,
        "aggregateKeyType": "IP",
        "evaluationWindowSec": 300,
    }
    assert rules[0]["action"] == {"block": {}}
    visibilities = [acl.inputs["visibilityConfig"], *(r["visibilityConfig"] for r in rules)]
    assert all(v["cloudwatchMetricsEnabled"] and v["sampledRequestsEnabled"] for v in visibilities)
    assert len({v["metricName"] for v in visibilities}) == len(visibilities)
    assert acl.inputs["tags"]["stack"] == scenario


@pytest.mark.parametrize("scenario", MANAGED)
def test_the_distribution_uses_the_web_acls_arn_and_the_dashboard_its_metrics(scenario):
    deployment = deployed(scenario)
    arn = deployment.one(WEB_ACL).outputs["arn"]
    assert aws_rules.GLOBAL_WEB_ACL_ARN.match(arn)
    assert deployment.one(DISTRIBUTION).inputs["webAclId"] == arn
    assert deployment.exports["webAclArn"] == arn
    (graph,) = web_acl_graph(deployment)
    properties = graph["properties"]
    assert properties["region"] == aws_rules.WAF_CLOUDFRONT_REGION
    metric_name = deployment.one(WEB_ACL).inputs["visibilityConfig"]["metricName"]
    expressions = [entry[0]["expression"] for entry in properties["metrics"]]
    assert expressions == [
        f'SEARCH(\'{{AWS/WAFV2,Rule,WebACL}} MetricName="{metric}" WebACL="{metric_name}" '
        'NOT Rule="ALL"\', '
        "'Sum', 60)"
        for metric in ("AllowedRequests", "BlockedRequests")
    ]
    # What the search draws of what AWS WAF publishes for the web ACL: every rule's series and the
    # default action's, not the web ACL-wide Rule=ALL, nor another web ACL's or metric's.
    published = [
        {"MetricName": metric, "WebACL": acl, "Rule": rule}
        for metric in ("AllowedRequests", "BlockedRequests", "CountedRequests")
        for acl in (metric_name, "another-acl")
        for rule in ("ALL", "Default_Action", "rate-limit-per-ip", "AWSManagedRulesCommonRuleSet")
    ]
    drawn = [series for series in published if search_matches(expressions[1], series)]
    assert drawn == [
        {"MetricName": "BlockedRequests", "WebACL": metric_name, "Rule": rule}
        for rule in ("Default_Action", "rate-limit-per-ip", "AWSManagedRulesCommonRuleSet")
    ]
    # No Region dimension: AWS WAF publishes none for CloudFront.
    assert all("Region" not in expression for expression in expressions)


def test_the_managed_rule_groups_stay_within_the_base_capacity():
    acl = deployed("web-acl-managed").one(WEB_ACL)
    groups = [
        rule["statement"]["managedRuleGroupStatement"]["name"]
        for rule in acl.inputs["rules"]
        if "managedRuleGroupStatement" in rule["statement"]
    ]
    assert sum(aws_rules.AWS_MANAGED_RULE_GROUP_WCU[group] for group in groups) == 925 <= 1500


@pytest.mark.parametrize("scenario", OWN)
def test_an_operators_web_acl_is_attached_as_it_is(scenario):
    deployment = deployed(scenario)
    assert deployment.all(WEB_ACL) == []
    assert deployment.one(DISTRIBUTION).inputs["webAclId"] == OWN_WEB_ACL_ARN
    assert deployment.exports["webAclArn"] == OWN_WEB_ACL_ARN
    (graph,) = web_acl_graph(deployment)
    assert all(
        'WebACL="site-acl"' in entry[0]["expression"] for entry in graph["properties"]["metrics"]
    )


@pytest.mark.parametrize("scenario", ["stack:prod", "stack:dev"])
def test_no_web_acl_by_default(scenario):
    deployment = deployed(scenario)
    assert deployment.all(WEB_ACL) == []
    assert "webAclId" not in deployment.one(DISTRIBUTION).inputs
    assert "webAclArn" not in deployment.exports
    assert web_acl_graph(deployment) == []


def test_the_web_acl_checks_refuse_what_aws_waf_refuses():
    acl = deployed("web-acl-managed").one(WEB_ACL).inputs
    bad = json.loads(json.dumps(acl))
    bad["scope"], bad["region"] = "REGIONAL", "eu-west-1"
    bad["visibilityConfig"]["metricName"] = "All"
    bad["rules"][0]["statement"]["rateBasedStatement"]["limit"] = 9
    bad["rules"][0]["statement"]["rateBasedStatement"]["evaluationWindowSec"] = 900
    bad["rules"][1]["priority"] = bad["rules"][2]["priority"]
    bad["rules"][3]["action"] = {"block": {}}
    assert aws_rules.web_acl_problems(bad) == [
        "scope REGIONAL",
        "in eu-west-1, not us-east-1",
        "metric name 'All'",
        f"priorities {[rule['priority'] for rule in bad['rules']]}",
        "rate limit 9",
        "evaluation window 900",
        f"{bad['rules'][3]['name']}: a rule group needs overrideAction and no action",
    ]
