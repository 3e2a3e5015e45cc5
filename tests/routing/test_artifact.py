import json

import pytest

from routing.artifact import (
    ArtifactError,
    check_bucket_name,
    check_marker_header,
    regional_domain_name,
    render_artifact,
    validate_artifact,
)
from routing.table import derive_routing_table
from tests.support import SEED_ORIGINS, artifact_for, bucket_names, seed_artifact


def test_artifact_holds_schema_origins_routes_mode_and_marker(seed_table):
    document = json.loads(artifact_for(seed_table, marker_header="X-Origin-Failover"))
    assert document["schema"] == 1
    assert document["failover"] == "ranked"
    assert document["markerHeader"] == "X-Origin-Failover"
    assert document["origins"]["eu-central-1"] == {
        "domainName": "geo-assets-eu-central-1-7f3a9c1.s3.eu-central-1.amazonaws.com"
    }
    assert set(document["origins"]) == set(SEED_ORIGINS)
    assert document["routes"]["ap-southeast-2"] == {
        "primary": "ap-northeast-1",
        "failover": "us-east-1",
    }
    assert document["defaultRoute"] == {"primary": "us-east-1", "failover": "eu-central-1"}
    assert len(document["routes"]) == 34


def test_rendering_is_byte_identical_for_the_same_settings():
    reordered = derive_routing_table(
        SEED_ORIGINS, overrides={"ap-south-1": "ap-northeast-1", "sa-east-1": "eu-central-1"}
    )
    same = derive_routing_table(
        SEED_ORIGINS, overrides={"sa-east-1": "eu-central-1", "ap-south-1": "ap-northeast-1"}
    )
    names = bucket_names(SEED_ORIGINS)
    assert render_artifact(reordered, names) == render_artifact(
        same, dict(reversed(list(names.items())))
    )


@pytest.mark.parametrize(
    "change",
    [
        {"overrides": {"ap-south-1": "ap-northeast-1"}},
        {"failover": "fixed"},
        {"failover": "off"},
        {"default_origin": "eu-central-1"},
    ],
)
def test_any_routing_change_changes_the_artifact(change):
    assert seed_artifact(**change) != seed_artifact()


def test_different_bucket_names_change_the_artifact(seed_table):
    names = bucket_names(SEED_ORIGINS)
    renamed = {**names, "us-east-1": "other-assets-us-east-1"}
    assert render_artifact(seed_table, names) != render_artifact(seed_table, renamed)


def test_regional_domain_name():
    assert (
        regional_domain_name("my-assets", "ap-south-1") == "my-assets.s3.ap-south-1.amazonaws.com"
    )


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "My-Assets",
        "my.assets",
        "-assets",
        "assets-",
        "a" * 64,
        "xn--assets",
        "assets-s3alias",
        "sthree-x",
        42,
    ],
)
def test_invalid_bucket_names_are_rejected(seed_table, name):
    assert check_bucket_name(name) is not None
    with pytest.raises(ArtifactError, match="bucket for us-east-1"):
        render_artifact(seed_table, {**bucket_names(SEED_ORIGINS), "us-east-1": name})


def test_valid_bucket_names_pass():
    assert check_bucket_name("abc") is None
    assert check_bucket_name("geo-proximity-prod-us-east-1-1a2b3c4") is None


def test_bucket_names_must_cover_exactly_the_origins(seed_table):
    with pytest.raises(
        ArtifactError, match=r"missing \['ap-northeast-1'\], not an origin \['sa-east-1'\]"
    ):
        render_artifact(
            seed_table,
            {"us-east-1": "a-us", "eu-central-1": "a-eu", "sa-east-1": "a-sa"},
        )


@pytest.mark.parametrize(
    "name",
    ["Host", "x-amz-failover", "X-Edge-Origin", "If-Match", "Proxy-Thing", "Via", "bad header", ""],
)
def test_reserved_or_malformed_marker_headers_are_rejected(seed_table, name):
    assert check_marker_header(name) is not None
    with pytest.raises(ArtifactError, match="markerHeader"):
        artifact_for(seed_table, marker_header=name)


def tamper(document: dict, path: list, value) -> dict:
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (["schema"], 2, "schema 2 is not 1"),
        (["failover"], "maybe", "failover 'maybe'"),
        (["routes", "eu-west-1", "primary"], "sa-east-1", "primary 'sa-east-1' is not an origin"),
        (
            ["routes", "eu-west-1", "failover"],
            "eu-central-1",
            "ranked failover returns to the primary",
        ),
        (["routes", "eu-west-1", "failover"], None, "does not match mode 'ranked'"),
        (["defaultRoute", "failover"], "sa-east-1", "failover 'sa-east-1' is not an origin"),
        (
            ["origins", "us-east-1", "domainName"],
            "bucket.s3.eu-west-1.amazonaws.com",
            "origin 'us-east-1'",
        ),
        (["origins", "us-east-1", "domainName"], "bucket.s3.amazonaws.com", "origin 'us-east-1'"),
        (["origins"], {}, "origins must be a non-empty object"),
        (["routes"], [], "routes must be a non-empty object"),
    ],
)
def test_validation_rejects_a_tampered_document(path, value, fragment):
    document = tamper(json.loads(seed_artifact()), path, value)
    with pytest.raises(ArtifactError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        validate_artifact(document)


def test_validation_rejects_non_documents():
    with pytest.raises(ArtifactError, match="not a JSON object"):
        validate_artifact([])
    with pytest.raises(ArtifactError, match="keys"):
        validate_artifact({**json.loads(seed_artifact()), "extra": 1})


def test_a_rendered_artifact_validates():
    for options in ({}, {"failover": "fixed"}, {"failover": "off"}):
        validate_artifact(json.loads(seed_artifact(**options)))
