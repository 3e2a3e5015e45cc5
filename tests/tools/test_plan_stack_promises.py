"""What ./dev plan says of a stack whose routing or config the docs promise a meaning for: a route
pinned to a drained origin is no longer pinned (its Region goes on to the next origin in rotation),
and a secret the plan cannot read is named, not silently left out."""

import json

from settings import stack_file
from tests.tools.test_plan import rows_of
from tools import plan

PINNED_TO_DRAINED = (
    "config:\n  geo-proximity:origins: [us-east-1, eu-central-1, ap-northeast-1]\n"
    "  geo-proximity:routes:\n    ap-south-1: ap-northeast-1\n"
    "  geo-proximity:drained: [ap-northeast-1]\n"
)


def write_stack(tmp_path, monkeypatch, text):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    (tmp_path / "Pulumi.t.yaml").write_text(text, encoding="utf-8")


def test_a_route_pinned_to_a_drained_origin_does_not_read_as_pinned(capsys, tmp_path, monkeypatch):
    write_stack(tmp_path, monkeypatch, PINNED_TO_DRAINED)
    assert plan.main(["--stack", "t"]) == 0
    row = rows_of(capsys.readouterr().out)["ap-south-1"]
    # The Region goes to the nearest origin in rotation, as the routing table says.
    assert row.split()[1] == "eu-central-1"
    # Before: "ap-northeast-1 drained; pinned (nearest is eu-central-1)".
    assert "pinned (" not in row
    assert row.endswith("pinned to ap-northeast-1, drained: next in rotation")


def test_the_json_plan_agrees(capsys, tmp_path, monkeypatch):
    write_stack(tmp_path, monkeypatch, PINNED_TO_DRAINED)
    assert plan.main(["--stack", "t", "--json"]) == 0
    route = json.loads(capsys.readouterr().out)["routes"]["ap-south-1"]
    assert (route["primary"], route["pinned"]) == ("eu-central-1", False)
    assert route["notes"] == ["pinned to ap-northeast-1, drained: next in rotation"]


def test_a_pin_to_an_origin_in_rotation_still_reads_as_pinned(capsys, tmp_path, monkeypatch):
    write_stack(tmp_path, monkeypatch, PINNED_TO_DRAINED.replace("[ap-northeast-1]", "[us-east-1]"))
    assert plan.main(["--stack", "t"]) == 0
    row = rows_of(capsys.readouterr().out)["ap-south-1"]
    assert row.split()[1] == "ap-northeast-1"
    assert row.endswith("pinned (nearest is eu-central-1)")


def test_a_secret_the_plan_can_do_without_is_named_in_a_warning(capsys, tmp_path, monkeypatch):
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1]\n"
        "  geo-proximity:alarmEmail:\n    secure: v1:AAAA\n"
        "  aws:secretKey:\n    secure: v1:BBBB\n",
    )
    assert plan.main(["--stack", "t"]) == 0
    out = capsys.readouterr().out
    assert (
        "warning: geo-proximity:alarmEmail is a secret (secure:), which only the Pulumi CLI can "
        "decrypt: this plan leaves it unchecked; `pulumi preview` checks it." in out
    )
    # The AWS provider's own secret is none of the plan's business.
    assert "aws:secretKey" not in out
