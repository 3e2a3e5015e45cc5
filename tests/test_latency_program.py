"""The program under mocks with `routingMetric: latency`: what both engines deploy follows the
snapshot file (and nothing else changes), the same snapshot gives the same bytes, and a missing
snapshot stops the program before any resource with one line that says how to fetch one."""

import json
import re

import pulumi
import pytest

from edge_function.cloudfront_function import origin_id
from testing.mock_program import CLOUDFRONT_FUNCTION, ProgramError, deploy, project_config

SEED = ["us-east-1", "eu-central-1", "ap-northeast-1"]
# Mumbai: Frankfurt is nearer, Tokyo measured 20 ms faster. Ohio: Virginia first either way, and
# Tokyo measured faster than Frankfurt, its next by distance. Singapore: Tokyo nearest and fastest.
LATENCY = {
    "ap-south-1": {"eu-central-1": 120.0, "ap-northeast-1": 100.0, "us-east-1": 190.0},
    "us-east-2": {"us-east-1": 12.0, "eu-central-1": 150.0, "ap-northeast-1": 130.0},
    "ap-southeast-1": {"ap-northeast-1": 70.0, "eu-central-1": 160.0},
}
# Every edge Region's origins in order, where the snapshot changes them.
MOVED = {
    "ap-south-1": ["ap-northeast-1", "eu-central-1", "us-east-1"],
    "us-east-2": ["us-east-1", "ap-northeast-1", "eu-central-1"],
}


@pytest.fixture
def snapshot(tmp_path):
    path = tmp_path / "latency.json"
    path.write_text(
        json.dumps(
            {
                "source": "synthetic, for the tests",
                "measured": "2026-11-28",
                "statistic": "p50",
                "unit": "ms",
                "latency": LATENCY,
            }
        ),
        encoding="utf-8",
    )
    return path


def by_latency(snapshot, **values):
    return project_config(
        origins=SEED, routingMetric="latency", latencyFile=str(snapshot), **values
    )


def lambda_edge_rankings(config) -> dict[str, list[str]]:
    return json.loads(deploy(config).function_package()["routing.json"])["rankings"]


def test_the_lambda_edge_artifact_follows_the_snapshot(snapshot):
    by_distance = lambda_edge_rankings(project_config(origins=SEED))
    rankings = lambda_edge_rankings(by_latency(snapshot))
    assert by_distance["ap-south-1"] == ["eu-central-1", "ap-northeast-1", "us-east-1"]
    assert by_distance["us-east-2"] == ["us-east-1", "eu-central-1", "ap-northeast-1"]
    changed = {edge: ranking for edge, ranking in rankings.items() if by_distance[edge] != ranking}
    assert changed == MOVED


def test_a_larger_margin_keeps_distance_and_pins_still_win(snapshot):
    assert lambda_edge_rankings(by_latency(snapshot, latencyMarginMs=31)) == lambda_edge_rankings(
        project_config(origins=SEED)
    )
    pinned = lambda_edge_rankings(by_latency(snapshot, routes={"ap-south-1": "us-east-1"}))
    assert pinned["ap-south-1"] == ["us-east-1", "ap-northeast-1", "eu-central-1"]


def test_the_same_snapshot_deploys_the_same_bytes(snapshot):
    first = deploy(by_latency(snapshot)).function_package()
    assert deploy(by_latency(snapshot)).function_package() == first
    routing = deploy(by_latency(snapshot)).exports["routing"]
    assert {edge: routing["routes"][edge] for edge in MOVED} == {
        edge: {"primary": ranking[0], "failover": ranking[1]} for edge, ranking in MOVED.items()
    }


def functions_routes(code: str) -> dict[str, list[str]]:
    """Edge Region -> the origin ids the CloudFront function's code ranks for it, in order."""
    ids = json.loads(re.search(r"(\[\"s3-[^\]]*\])", code).group(1))
    return {
        edge: [ids[index] for index in json.loads(targets)]
        for edge, targets in re.findall(r'^\s+"([a-z0-9-]+)": (\[[0-9, ]*\])', code, re.M)
    }


def test_the_cloudfront_function_follows_the_snapshot(snapshot):
    engine = {"engine": "cloudfront-functions"}
    by_distance = functions_routes(
        deploy(project_config(origins=SEED, **engine)).one(CLOUDFRONT_FUNCTION).inputs["code"]
    )
    code = deploy(by_latency(snapshot, **engine)).one(CLOUDFRONT_FUNCTION).inputs["code"]
    routes = functions_routes(code)
    assert len(routes) == len(by_distance) > 30
    changed = {edge: targets for edge, targets in routes.items() if by_distance[edge] != targets}
    assert changed == {
        edge: [origin_id(code) for code in ranking] for edge, ranking in MOVED.items()
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "geo-proximity:latencyFile: no latency snapshot at {path}. routingMetric"),
        ('{"source": ', "geo-proximity:latencyFile: {path}:1:12: not valid JSON"),
    ],
)
def test_latency_without_a_usable_snapshot_stops_before_any_resource(tmp_path, content, message):
    path = tmp_path / "latency.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ProgramError) as failed:
        deploy(by_latency(path))
    assert isinstance(failed.value.error, pulumi.RunError)
    text = str(failed.value.error)
    assert text.startswith(message.format(path=path))
    assert text.endswith(
        "write it with `./dev latency fetch --stack test`, or set routingMetric to distance"
        if content is None
        else "(`./dev latency fetch` does not replace a file that is not one), or set "
        "routingMetric to distance"
    )
    assert "\n" not in text
    assert failed.value.declared == []
