"""The operating procedures of docs/adding-a-region.md and docs/evacuation.md, end to end in the
sandbox, with both engines: bring a new Region in without serving from its empty bucket, and
drain a Region during an incident."""

import json

import pytest

from sandbox.drill import ask
from sandbox.regional_s3 import Fault
from sandbox.stack import Sandbox
from settings.parser import parse_settings
from tools import drift

ENGINES = ["lambda-edge", "cloudfront-functions"]
NEW = "ap-northeast-1"


def stack_settings(engine, stack, **values):
    raw = {"origins": json.dumps(["us-east-1", "eu-west-1", NEW]), "engine": engine}
    return parse_settings({**raw, **{k: json.dumps(v) for k, v in values.items()}}, stack=stack)


def drift_arguments(sandbox):
    arguments = []
    for region, bucket in sandbox.buckets.items():
        arguments += ["--bucket", f"{region}={bucket}"]
        arguments += ["--endpoint-url", f"{region}={sandbox.emulators.endpoint(region)}"]
    return arguments


@pytest.mark.parametrize("engine", ENGINES)
def test_adding_a_region_drained_filling_it_then_undraining_never_serves_from_an_empty_bucket(
    engine, monkeypatch, capsys
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "sandbox")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sandbox")
    # 1. The new Region is an origin and drained; `pulumi up` creates its bucket, empty.
    added = stack_settings(engine, f"add-{engine[:2]}", drained=[NEW])
    with Sandbox(added, read_timeout=0.5, empty_regions=[NEW]) as sandbox:
        new_region = sandbox.emulators.regions[NEW]
        before = new_region.requests
        for edge in ("ap-northeast-2", "ap-southeast-1", "ap-southeast-2"):
            answer = ask(sandbox, edge, "index.html")
            assert (answer.status, answer.failover) == (200, False)
            assert answer.served_by != NEW
        # Nor from new containers that cannot read the routing state (a cold Lambda@Edge
        # container whose first read fails, an edge the key value store has not reached): the
        # drain is in the code.
        with sandbox.cold_started(), sandbox.store_not_reached():
            sandbox.edge.invalidate()
            for edge in ("ap-northeast-2", "ap-southeast-1", "ap-southeast-2"):
                answer = ask(sandbox, edge, "assets/where.json")
                assert (answer.status, answer.failover) == (200, False)
                assert answer.served_by != NEW
        assert new_region.requests == before  # its empty bucket was never asked
        # 2. ./dev drift --repair copies what the other buckets hold into it.
        assert drift.main([*drift_arguments(sandbox)]) == 1
        assert drift.main([*drift_arguments(sandbox), "--repair"]) == 0
        capsys.readouterr()
        # 3. Undrained (`pulumi config rm geo-proximity:drained`, `pulumi up`): its edges are
        # served by it at once, from a full bucket, without a failover: each cache miss, that is.
        # What the edge caches hold from the other Regions stays until it expires, as on
        # CloudFront, so they are emptied first, as an invalidation would.
        with sandbox.rerouted(stack_settings(engine, f"add-{engine[:2]}")):
            sandbox.edge.invalidate()
            for edge in ("ap-northeast-2", "ap-southeast-1"):
                answer = ask(sandbox, edge, "assets/where.json")
                assert (answer.status, answer.served_by, answer.failover) == (200, NEW, False)


@pytest.mark.parametrize("engine", ENGINES)
def test_draining_a_failing_region_ends_the_double_fetch_and_sends_it_nothing(engine):
    settings = stack_settings(engine, f"incident-{engine[:2]}")
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        sandbox.emulators.regions["eu-west-1"].fault = Fault.UNAVAILABLE
        during = ask(sandbox, "eu-west-2", "index.html")
        # Failing over works, but every miss pays a fetch from the failing Region first.
        assert (during.status, during.served_by, during.failover) == (200, "us-east-1", True)
        failing = sandbox.emulators.regions["eu-west-1"]
        # One `pulumi config set --path 'geo-proximity:drained[0]' eu-west-1` and `pulumi up`:
        with sandbox.rerouted(stack_settings(engine, settings.stack, drained=["eu-west-1"])):
            before = failing.requests
            for edge in ("eu-west-1", "eu-west-2", "eu-central-1"):
                answer = ask(sandbox, edge, "assets/where.json")
                assert (answer.status, answer.served_by, answer.failover) == (
                    200,
                    "us-east-1",
                    False,
                )
            assert failing.requests == before
