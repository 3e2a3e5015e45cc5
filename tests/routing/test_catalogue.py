import pytest

from routing.catalogue import (
    describe_unknown_region,
    great_circle_km,
    lambda_edge_execution_regions,
    load_catalogue,
)
from tests.support import DOCUMENTED_EXECUTION_REGIONS

# Regions launched after December 2022, where OAI does not work (CloudFront developer guide).
POST_2022_REGIONS = {
    "ap-southeast-4",
    "il-central-1",
    "ca-west-1",
    "ap-southeast-5",
    "mx-central-1",
    "ap-southeast-7",
    "ap-east-2",
    "ap-southeast-6",
}


def test_catalogue_lists_every_commercial_region_once():
    catalogue = load_catalogue()
    assert len(catalogue) == 34
    assert {"us-east-1", "eu-central-1", "ap-northeast-1", "af-south-1", "ap-southeast-6"} <= set(
        catalogue
    )
    assert all(code == region.code for code, region in catalogue.items())


def test_catalogue_is_loaded_once():
    assert load_catalogue() is load_catalogue()


def test_execution_regions_are_the_documented_regional_edge_caches():
    assert set(lambda_edge_execution_regions()) == set(DOCUMENTED_EXECUTION_REGIONS)


def test_post_2022_regions_do_not_support_oai():
    catalogue = load_catalogue()
    assert {
        code for code, region in catalogue.items() if not region.supports_oai
    } == POST_2022_REGIONS
    assert all(catalogue[code].opt_in for code in POST_2022_REGIONS)


def test_coordinates_are_on_the_globe():
    for region in load_catalogue().values():
        assert -90 <= region.latitude <= 90 and -180 <= region.longitude <= 180, region


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ("eu-west-2", "eu-central-1", 640),  # London - Frankfurt
        ("us-east-1", "eu-west-1", 5_540),  # Ashburn - Dublin
        ("ap-southeast-2", "ap-northeast-1", 7_820),  # Sydney - Tokyo
    ],
)
def test_great_circle_distance_matches_known_figures(a, b, km):
    catalogue = load_catalogue()
    distance = great_circle_km(catalogue[a], catalogue[b])
    assert distance == pytest.approx(km, rel=0.02)
    assert great_circle_km(catalogue[b], catalogue[a]) == pytest.approx(distance)
    assert great_circle_km(catalogue[a], catalogue[a]) == 0


def test_unknown_region_message_suggests_the_closest_codes():
    message = describe_unknown_region("eu-centrl-1")
    assert "'eu-centrl-1' is not a known AWS Region code" in message
    assert "did you mean eu-central-1" in message
    assert "us-east-1" in message  # the accepted values are listed
