import json

from tools import plan


def test_plan_prints_every_region_with_distances(capsys):
    assert plan.main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stack prod: origins us-east-1, eu-central-1, ap-northeast-1; default us-east-1; failover ranked")
    rows = {line.split()[0].lstrip("*"): line.split() for line in out.splitlines() if line[:1] in "* " and line.strip()}
    assert rows["eu-west-1"][1:] == ["eu-central-1", "1,088", "us-east-1", "5,462"]
    assert rows["ap-southeast-2"][1] == "ap-northeast-1"
    assert "Nothing was deployed" in out


def test_plan_json_is_the_routing_summary(capsys):
    assert plan.main(["--stack", "dev", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["failover"] == "ranked"
    assert summary["routes"]["eu-central-1"] == {"primary": "eu-west-1", "failover": "us-east-1"}


def test_plan_reports_a_missing_stack_and_bad_config(capsys, tmp_path, monkeypatch):
    assert plan.main(["--stack", "nope"]) == 2
    assert "no stack file at" in capsys.readouterr().err
    (tmp_path / "Pulumi.yaml").write_text("name: geo-proximity\nruntime: python\n", encoding="utf-8")
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  geo-proximity:origins: [us-east-1, us-east-1]\n", encoding="utf-8")
    monkeypatch.setattr("settings.PROJECT_ROOT", tmp_path)
    assert plan.main(["--stack", "bad"]) == 2
    assert capsys.readouterr().err.strip() == "error: geo-proximity:origins: 'us-east-1' is listed twice; each Region holds at most one bucket"
