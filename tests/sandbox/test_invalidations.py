"""An origin out of rotation still serves what the edge caches hold of it, as on CloudFront, until
they are invalidated: botocore's own CloudFront client (checking every request and answer against
the service model) drives the sandbox's CreateInvalidation and GetInvalidation."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.drill import ask
from sandbox.invalidations import InvalidationsEmulator
from sandbox.stack import Sandbox
from settings.parser import parse_settings


@pytest.fixture(scope="module")
def sandbox():
    settings = parse_settings(
        {"origins": '["us-east-1", "eu-central-1", "ap-northeast-1"]'}, stack="invalidations"
    )
    with Sandbox(settings) as box:
        yield box


@pytest.fixture
def cloudfront(sandbox):
    sandbox.edge.invalidate()
    with InvalidationsEmulator(sandbox.edge.invalidate) as emulator:
        client = boto3.client(
            "cloudfront",
            region_name="us-east-1",
            endpoint_url=emulator.endpoint,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        yield emulator, client


def invalidate(client, distribution, *paths, quantity=None):
    return client.create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={
            "Paths": {
                "Quantity": len(paths) if quantity is None else quantity,
                "Items": list(paths),
            },
            "CallerReference": "test",
        },
    )["Invalidation"]


def test_a_drained_origin_serves_its_cached_objects_until_an_invalidation(sandbox, cloudfront):
    emulator, client = cloudfront
    first = ask(sandbox, "eu-west-2", "index.html")
    assert (first.status, first.served_by, first.cache) == (200, "eu-central-1", "Miss")
    with sandbox.drained({"eu-central-1"}):
        # Out of rotation, and still the cache's answer: the origin-request function is not run.
        cached = ask(sandbox, "eu-west-2", "index.html")
        assert (cached.cache, cached.served_by, cached.invocations) == ("Hit", "eu-central-1", 0)
        assert cached.body == first.body
        created = invalidate(client, emulator.distribution_id, "/*")
        assert created["Status"] == "InProgress"
        assert created["InvalidationBatch"]["Paths"]["Items"] == ["/*"]
        fetched = ask(sandbox, "eu-west-2", "index.html")
        assert (fetched.cache, fetched.served_by) == ("Miss", "us-east-1")
        assert b"served from us-east-1" in fetched.body
    done = client.get_invalidation(DistributionId=emulator.distribution_id, Id=created["Id"])
    assert done["Invalidation"]["Status"] == "Completed"


def test_an_invalidation_of_some_paths_leaves_the_others_cached(sandbox, cloudfront):
    emulator, client = cloudfront
    for key in ("index.html", "assets/where.json"):
        ask(sandbox, "ap-south-1", key)
    invalidate(client, emulator.distribution_id, "/assets/*")
    assert ask(sandbox, "ap-south-1", "index.html").cache == "Hit"
    assert ask(sandbox, "ap-south-1", "assets/where.json").cache == "Miss"
    invalidate(client, emulator.distribution_id, "/index.html")
    assert ask(sandbox, "ap-south-1", "index.html").cache == "Miss"


REFUSED = [
    # (distribution, paths, quantity, error code)
    ("E0THERDISTRIBN", ["/*"], None, "NoSuchDistribution"),
    (None, ["/a", "/b"], 1, "InvalidArgument"),
    (None, ["index.html"], None, "InvalidArgument"),
]


@pytest.mark.parametrize("case", REFUSED, ids=["distribution", "quantity", "path"])
def test_what_cloudfront_refuses_is_refused(sandbox, cloudfront, case):
    distribution, paths, quantity, code = case
    emulator, client = cloudfront
    ask(sandbox, "sa-east-1", "index.html")
    with pytest.raises(ClientError) as refused:
        invalidate(client, distribution or emulator.distribution_id, *paths, quantity=quantity)
    assert refused.value.response["Error"]["Code"] == code
    assert ask(sandbox, "sa-east-1", "index.html").cache == "Hit"  # nothing was emptied
