"""Each of the AWS blog post's four defects, tested against our handler and, as an expected failure,
against a model of the seed's behaviour: the xfail(strict) cases prove every test can fail.

The AWS blog post is "Using Amazon CloudFront and Amazon S3 to build multi-Region active-active geo
proximity applications" (AWS Networking & Content Delivery Blog); its function's code, as
published, ships beside this file (``blog_post_excerpt.txt``, with its attribution), so that these
tests run in any clone."""

import ast
from pathlib import Path

import pytest

from edge_function.package import RUNTIME_MODULES
from routing.artifact import DEFAULT_MARKER_HEADER
from routing.catalogue import great_circle_km, lambda_edge_execution_regions, load_catalogue
from routing.table import derive_routing_table
from tests.edge_function.blog_post_model import blog_post_model_handler
from tests.support import (
    SEED_ORIGINS,
    FakeState,
    artifact_for,
    context_in,
    domain_of,
    failover_request_event,
    origin_request_event,
    request_of,
    state_source,
)

SEED_POST_EXCERPT = Path(__file__).with_name("blog_post_excerpt.txt")
seed_defect = pytest.mark.xfail(
    strict=True,
    raises=(AssertionError, SyntaxError),
    reason="the AWS blog post's behaviour has this defect",
)


@pytest.fixture(params=["ours", pytest.param("seed", marks=seed_defect)])
def handler(request, make_handler):
    if request.param == "seed":
        return blog_post_model_handler(DEFAULT_MARKER_HEADER)
    # As shipped: an artifact naming its state table, every origin in rotation.
    artifact = artifact_for(derive_routing_table(SEED_ORIGINS), state=state_source())
    return make_handler(artifact, state=FakeState())


def test_defect_1_failover_marker_is_recognised_in_cloudfronts_lowercase(handler):
    # Frankfurt's primary is Frankfurt, and the origin group's failover member is Frankfurt too
    # (nearest to the default, us-east-1): the retry must leave Frankfurt, which just failed.
    event = failover_request_event(origin_region="eu-central-1")
    assert DEFAULT_MARKER_HEADER not in request_of(event)["origin"]["s3"]["customHeaders"]
    request = handler(event, context_in("eu-central-1"))
    assert request["origin"]["s3"]["domainName"] == domain_of("us-east-1")


def test_defect_2_region_is_the_target_buckets_region(handler):
    request = handler(origin_request_event(), context_in("eu-west-2"))
    assert request["origin"]["s3"]["domainName"] == domain_of("eu-central-1")
    assert request["origin"]["s3"]["region"] == "eu-central-1"


def test_defect_3_every_execution_region_reaches_its_nearest_bucket(handler):
    catalogue = load_catalogue()
    for edge in lambda_edge_execution_regions():
        nearest = min(
            SEED_ORIGINS, key=lambda code: great_circle_km(catalogue[edge], catalogue[code])
        )
        request = handler(origin_request_event(), context_in(edge))
        assert request["origin"]["s3"]["domainName"] == domain_of(nearest), edge


def seed_post_code() -> str:
    """The post's function as published, with the excerpt's attribution as comments on top."""
    return SEED_POST_EXCERPT.read_text(encoding="utf-8")


@pytest.mark.parametrize("source", ["ours", pytest.param("seed", marks=seed_defect)])
def test_defect_4_the_function_parses(source):
    if source == "ours":
        codes = [module.read_text(encoding="utf-8") for module in RUNTIME_MODULES]
    else:
        codes = [seed_post_code()]
    for code in codes:
        ast.parse(code, feature_version=(3, 11))


def test_defect_4_is_the_unclosed_region_mapping():
    # The evidence itself: the post's dict of Regions ends in "# ..." and is never closed.
    with pytest.raises(SyntaxError) as raised:
        ast.parse(seed_post_code(), feature_version=(3, 11))
    assert raised.value.msg == "'{' was never closed"
    assert raised.value.text is not None
    assert raised.value.text.strip() == "regions_mapping = {"
    assert '"ap-northeast-2": ap_bucket\n    # ...\n\n# This header' in seed_post_code()
