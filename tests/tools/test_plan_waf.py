"""./dev plan's cost model for the web ACL in front (webAcl): what `managed` declares and costs, an
operator's own web ACL, and none."""

import json
from decimal import Decimal

from settings import stack_file
from testing.mock_program import WEB_ACL
from tests.components.conftest import OWN_WEB_ACL_ARN, deployed
from tests.tools.test_plan import bill_lines
from tools import cost, plan
from tools.cli import run_command


def write_stack(tmp_path, monkeypatch, web_acl=None):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    line = f"  geo-proximity:webAcl: {web_acl}\n" if web_acl else ""
    (tmp_path / "Pulumi.t.yaml").write_text(
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1]\n" + line, encoding="utf-8"
    )


def test_the_cost_model_counts_the_rules_the_program_declares():
    acl = deployed("web-acl-managed").one(WEB_ACL)
    assert cost.MANAGED_WEB_ACL_RULES == len(acl.inputs["rules"]) == 4


def test_managed_costs_the_web_acl_its_rules_and_every_request():
    prices = cost.load_waf_prices()
    assert (prices.web_acl_per_month, prices.rule_per_month, prices.per_million_requests) == (
        Decimal("5.0"),
        Decimal("1.0"),
        Decimal("0.6"),
    )
    managed = cost.waf_estimate(prices, web_acl="managed", rules=4, requests_per_month=100_000_000)
    assert (managed.fixed_dollars, managed.request_dollars, managed.dollars) == (9.0, 60.0, 69.0)
    own = cost.waf_estimate(
        prices, web_acl=OWN_WEB_ACL_ARN, rules=4, requests_per_month=100_000_000
    )
    assert (own.mode, own.fixed_dollars, own.dollars) == ("own", 0.0, 60.0)
    none = cost.waf_estimate(prices, web_acl=None, rules=4, requests_per_month=100_000_000)
    assert (none.mode, none.dollars) == (None, 0.0)


def test_plan_prints_what_the_managed_web_acl_costs(capsys, tmp_path, monkeypatch):
    write_stack(tmp_path, monkeypatch, "managed")
    assert run_command(plan.main, ["--stack", "t", "--requests-per-month", "2000000000"]) == 0
    lines = bill_lines(capsys.readouterr().out)
    assert lines["web ACL"][:3] == ("1", "$5.00 per web ACL-month", "5.00")
    assert lines["rules"][:3] == ("4", "$1.00 per rule-month", "4.00")
    assert lines["requests inspected (every viewer request)"][:3] == (
        "2,000,000,000",
        "$0.60 per 1,000,000 requests inspected",
        "1,200.00",
    )


def test_plan_json_has_the_web_acl_cost_and_prices_are_overridable(capsys, tmp_path, monkeypatch):
    write_stack(tmp_path, monkeypatch, OWN_WEB_ACL_ARN)
    prices = tmp_path / "prices.json"
    prices.write_text('{"wafPerMillionRequests": 1.0}', encoding="utf-8")
    assert run_command(plan.main, ["--stack", "t", "--json", "--prices", str(prices)]) == 0
    document = json.loads(capsys.readouterr().out)["webAcl"]
    assert document["webAcl"] == "own" and document["webAcls"] == 0
    assert document["dollarsPerMonth"] == {"webAclAndRules": 0.0, "requests": 100.0, "total": 100.0}
    assert document["prices"]["wafPerMillionRequests"] == 1.0


def test_a_stack_without_a_web_acl_costs_nothing_for_it(capsys, tmp_path, monkeypatch):
    write_stack(tmp_path, monkeypatch)
    assert run_command(plan.main, ["--stack", "t"]) == 0
    out = capsys.readouterr().out
    assert "  web ACL\n" not in out and "rules" not in bill_lines(out)
