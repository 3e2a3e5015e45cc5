"""A drained origin under mocks: its bucket, policy and replication stay; no route names it; the
drain is routing state (Pulumi's item of the state table, its key of the key value store), written
first, and it is in the edge code published after it, so no edge routes there whatever the state
says or fails to say."""

import json

import pytest

from evacuation.state import DRAINED_KEY, drained_item, out_value
from testing.mock_program import (
    CLOUDFRONT_FUNCTION,
    INVOCATION,
    KVS_KEY,
    TABLE_ITEM,
    deploy,
)
from tests.components.conftest import SCENARIOS, deployed

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


@pytest.mark.parametrize(
    ("scenario", "region"), [("drained", "eu-central-1"), ("functions-drained", "us-east-1")]
)
def test_a_drained_origin_keeps_its_bucket_policy_and_replication(scenario, region):
    deployment = deployed(scenario)
    bucket = deployment.exports["buckets"][region]
    assert bucket in {b.outputs["bucket"] for b in deployment.all("aws:s3/bucket:Bucket")}
    assert bucket in {
        p.inputs["bucket"] for p in deployment.all("aws:s3/bucketPolicy:BucketPolicy")
    }
    # Replication keeps filling it, so undraining serves a full bucket.
    assert region in deployment.exports["replication"]
    assert all(
        region in targets
        for source, targets in deployment.exports["replication"].items()
        if source != region
    )
    routing = deployment.exports["routing"]
    assert routing["drained"] == [region]
    for route in [routing["default"], *routing["routes"].values()]:
        assert region not in (route["primary"], route["failover"])


def undrained(scenario: str) -> dict[str, str]:
    config = dict(SCENARIOS[scenario])
    del config["geo-proximity:drained"]
    return config


def test_a_lambda_edge_drain_is_in_the_package_published_after_the_state():
    drained, whole = deployed("drained"), deploy(undrained("drained"), stack="drained")
    region = drained.exports["routing"]["drained"]
    package, before = drained.function_package(), whole.function_package()
    artifact, artifact_before = (
        json.loads(package["routing.json"]),
        json.loads(before["routing.json"]),
    )
    # The drained list is in the artifact (no edge routes there whatever the state says), and
    # nothing else of the package changes.
    assert (artifact["drained"], artifact_before["drained"]) == (region, [])
    assert {key: value for key, value in artifact.items() if key != "drained"} == {
        key: value for key, value in artifact_before.items() if key != "drained"
    }
    assert {name: text for name, text in package.items() if name != "routing.json"} == {
        name: text for name, text in before.items() if name != "routing.json"
    }
    # Pulumi's item is written first: the running code reads the drain before the new version
    # (which CloudFront then associates, as for any routing change) reaches the edges.
    item = drained.one(TABLE_ITEM)
    assert drained.waits_for(drained.edge_function(), item)
    assert json.loads(item.inputs["item"]) == drained_item(region)
    assert json.loads(whole.one(TABLE_ITEM).inputs["item"]) == drained_item([])


def test_a_cloudfront_functions_drain_is_in_the_code_published_after_the_state():
    drained = deployed("functions-drained")
    whole = deploy(undrained("functions-drained"), stack="functions-drained")
    region = drained.exports["routing"]["drained"]
    function = drained.one(CLOUDFRONT_FUNCTION)
    code, before = function.inputs["code"], whole.one(CLOUDFRONT_FUNCTION).inputs["code"]
    # As indexes into the origins, as the rankings are written.
    regions_line = next(line for line in code.splitlines() if line.startswith("var ORIGIN_REGIONS"))
    origins = json.loads(regions_line.split(" = ", 1)[1].rstrip(";"))
    (drained_index,) = [origins.index(code) for code in region]
    assert f"var DRAINED = [{drained_index}];" in code and "var DRAINED = [];" in before
    assert code.replace(f"var DRAINED = [{drained_index}];", "var DRAINED = [];") == before
    assert "/* drained */" not in code  # the placeholder is filled in
    # The store holds the drain first (the evacuator's sync, triggered by the drained list), then
    # the new code is published; the distribution keeps the same function (its LIVE stage).
    assert drained.waits_for(function, drained.one(INVOCATION))
    assert drained.one(DISTRIBUTION).inputs == whole.one(DISTRIBUTION).inputs


def test_with_an_evacuator_pulumi_up_publishes_a_drain_to_the_store_at_once():
    # The sync invocation is triggered by the drained list: a new list, a new invocation.
    drained, whole = deployed("functions-drained"), deploy(undrained("functions-drained"))
    sync, before = drained.one(INVOCATION), whole.one(INVOCATION)
    assert sync.inputs["triggers"]["drained"] == out_value(["us-east-1"])
    assert before.inputs["triggers"]["drained"] == out_value([])
    assert json.loads(sync.inputs["input"]) == {"action": "sync"}
    # With an evacuator the evacuator alone writes the key the function reads.
    assert drained.all(KVS_KEY) == []


def test_without_an_evacuator_pulumi_writes_the_drained_key_the_function_reads():
    config = {**SCENARIOS["functions-drained"], "geo-proximity:evacuation": "false"}
    deployment = deploy(config, stack="functions-drained-alone")
    (key,) = deployment.all(KVS_KEY)
    assert (key.inputs["key"], key.inputs["value"]) == (DRAINED_KEY, out_value(["us-east-1"]))
    code = deployment.one(CLOUDFRONT_FUNCTION).inputs["code"]
    assert f"var STATE_KEY = {json.dumps(DRAINED_KEY)};" in code
    assert deployment.exports["routingState"]["stateKey"] == DRAINED_KEY
    # No evacuator, and so no table either: the store is the whole routing state.
    assert deployment.all(TABLE_ITEM) == [] and deployment.all(INVOCATION) == []
