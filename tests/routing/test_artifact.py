import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.artifact import (
    DEFAULT_STATE_REFRESH_SECONDS,
    DEFAULT_STATE_TIMEOUT_SECONDS,
    SCHEMA_VERSION,
    ArtifactError,
    StateSource,
    check_bucket_name,
    check_marker_header,
    regional_domain_name,
    render_artifact,
    validate_artifact,
)
from routing.catalogue import load_catalogue
from routing.table import FailoverMode, derive_routing_table
from tests.support import (
    DOCUMENTED_EXECUTION_REGIONS,
    SEED_ORIGINS,
    STATE_TABLE,
    artifact_for,
    bucket_names,
    routing_tables,
    seed_artifact,
    state_source,
)


def test_artifact_holds_schema_origins_rankings_mode_and_marker(seed_table):
    document = json.loads(artifact_for(seed_table, marker_header="X-Origin-Failover"))
    assert SCHEMA_VERSION == 3
    assert set(document) == {
        "schema",
        "failover",
        "fixedFailover",
        "markerHeader",
        "origins",
        "defaultRanking",
        "rankings",
        "drained",
        "state",
    }
    assert document["schema"] == 3
    assert document["failover"] == "ranked"
    assert document["fixedFailover"] is None
    assert document["markerHeader"] == "X-Origin-Failover"
    assert document["origins"]["eu-central-1"] == {
        "domainName": "geo-assets-eu-central-1-7f3a9c1.s3.eu-central-1.amazonaws.com"
    }
    assert set(document["origins"]) == set(SEED_ORIGINS)
    assert document["rankings"]["ap-southeast-2"] == ["ap-northeast-1", "us-east-1", "eu-central-1"]
    assert document["rankings"]["ap-south-1"] == ["eu-central-1", "ap-northeast-1", "us-east-1"]
    assert document["defaultRanking"] == ["us-east-1", "eu-central-1", "ap-northeast-1"]
    assert set(document["rankings"]) == set(load_catalogue())
    assert len(document["rankings"]) == 34
    # Without a state source, the rankings alone decide (around what the stack drains: nothing).
    assert document["state"] is None
    assert document["drained"] == []


def test_fixed_mode_names_its_failover_origin():
    table = derive_routing_table(SEED_ORIGINS, failover="fixed", failover_origin="ap-northeast-1")
    document = json.loads(artifact_for(table))
    assert (document["failover"], document["fixedFailover"]) == ("fixed", "ap-northeast-1")
    off = json.loads(seed_artifact(failover="off", failover_origin="ap-northeast-1"))
    assert (off["failover"], off["fixedFailover"]) == ("off", None)


def test_the_state_source_is_carried_as_the_handler_reads_it(seed_table):
    state = StateSource(table=STATE_TABLE, regions=("us-east-1", "eu-west-1"))
    document = json.loads(artifact_for(seed_table, state=state))
    assert document["state"] == {
        "table": STATE_TABLE,
        "regions": ["us-east-1", "eu-west-1"],
        "refreshSeconds": DEFAULT_STATE_REFRESH_SECONDS,
        "timeoutSeconds": DEFAULT_STATE_TIMEOUT_SECONDS,
    }
    emulated = state_source("http://127.0.0.1:4566", refresh_seconds=1, timeout_seconds=0.5)
    document = json.loads(artifact_for(seed_table, state=emulated))
    assert document["state"] == {
        "table": STATE_TABLE,
        "regions": list(DOCUMENTED_EXECUTION_REGIONS),
        "refreshSeconds": 1,
        "timeoutSeconds": 0.5,
        "endpoint": "http://127.0.0.1:4566",
    }


@given(table=routing_tables())
def test_the_artifact_carries_the_tables_rankings_exactly(table):
    document = json.loads(artifact_for(table))
    assert document["rankings"] == {edge: list(ranking) for edge, ranking in table.rankings.items()}
    assert document["defaultRanking"] == list(table.default_ranking)
    assert list(document["origins"]) == sorted(table.origins)
    assert document["failover"] == table.failover_mode.value
    fixed = table.failover_origin if table.failover_mode is FailoverMode.FIXED else None
    assert document["fixedFailover"] == fixed
    validate_artifact(document)


def test_a_drain_is_in_the_artifact_and_changes_nothing_else():
    # Drains are deploy-time data: the function routes around them whatever the routing state
    # says or fails to say, so a drain publishes a new version; the rest of the document stays.
    drained = json.loads(seed_artifact(drained=["us-east-1", "ap-northeast-1"]))
    assert drained["drained"] == ["ap-northeast-1", "us-east-1"]
    assert json.loads(seed_artifact(drained=["eu-central-1"]))["drained"] == ["eu-central-1"]
    undrained = json.loads(seed_artifact())
    assert {key: value for key, value in drained.items() if key != "drained"} == {
        key: value for key, value in undrained.items() if key != "drained"
    }
    assert seed_artifact(drained=["eu-central-1"]) != seed_artifact()


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
    state = state_source("http://127.0.0.1:4566")
    assert render_artifact(reordered, names, state=state) == render_artifact(
        same, dict(reversed(list(names.items()))), state=state_source("http://127.0.0.1:4566")
    )


@pytest.mark.parametrize(
    "change",
    [
        {"overrides": {"ap-south-1": "ap-northeast-1"}},
        {"failover": "fixed"},
        {"failover": "off"},
        {"default_origin": "eu-central-1"},
        {"failover": "fixed", "failover_origin": "ap-northeast-1"},
    ],
)
def test_any_routing_change_changes_the_artifact(change):
    assert seed_artifact(**change) != seed_artifact()


@pytest.mark.parametrize(
    "state",
    [
        state_source(),
        state_source(regions=["us-east-1"]),
        state_source(refresh_seconds=30),
        state_source(timeout_seconds=0.5),
        state_source("http://127.0.0.1:4566"),
    ],
)
def test_any_state_source_change_changes_the_artifact(seed_table, state):
    variants = {
        artifact_for(seed_table, state=other)
        for other in (None, state_source(), state_source(regions=["us-east-1"]))
        if other != state
    }
    assert artifact_for(seed_table, state=state) not in variants


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


FIXED = {"failover": "fixed", "failover_origin": "ap-northeast-1"}
WITH_STATE = "with state"


def tampered_base(options) -> dict:
    if options == WITH_STATE:
        return json.loads(artifact_for(derive_routing_table(SEED_ORIGINS), state=state_source()))
    return json.loads(seed_artifact(**options))


@pytest.mark.parametrize(
    ("options", "path", "value", "fragment"),
    [
        ({}, ["schema"], 1, "schema 1 is not 3"),
        ({}, ["failover"], "maybe", "failover 'maybe'"),
        ({}, ["fixedFailover"], "us-east-1", "does not match mode 'ranked'"),
        (FIXED, ["fixedFailover"], None, "does not match mode 'fixed'"),
        (FIXED, ["fixedFailover"], "sa-east-1", "fixedFailover 'sa-east-1' is not an origin"),
        (FIXED, ["fixedFailover"], ["us-east-1"], "is not an origin"),
        ({}, ["markerHeader"], "Host", "markerHeader"),
        (
            {},
            ["rankings", "eu-west-1"],
            ["eu-central-1", "us-east-1"],
            "ranking 'eu-west-1'",
        ),
        (
            {},
            ["rankings", "eu-west-1"],
            ["eu-central-1", "us-east-1", "us-east-1"],
            "does not list every origin exactly once",
        ),
        (
            {},
            ["rankings", "eu-west-1"],
            ["eu-central-1", "us-east-1", "ap-northeast-1", "sa-east-1"],
            "does not list every origin exactly once",
        ),
        (
            {},
            ["rankings", "eu-west-1"],
            ["eu-central-1", "us-east-1", 7],
            "does not list every origin exactly once",
        ),
        ({}, ["rankings", "eu-west-1"], "eu-central-1", "ranking 'eu-west-1'"),
        ({}, ["defaultRanking"], ["us-east-1"], "ranking 'defaultRanking'"),
        ({}, ["defaultRanking"], None, "ranking 'defaultRanking'"),
        (
            {},
            ["origins", "us-east-1", "domainName"],
            "bucket.s3.eu-west-1.amazonaws.com",
            "origin 'us-east-1'",
        ),
        (
            {},
            ["origins", "us-east-1", "domainName"],
            "bucket.s3.amazonaws.com",
            "origin 'us-east-1'",
        ),
        ({}, ["origins"], {}, "origins must be a non-empty object"),
        ({}, ["rankings"], [], "rankings must be a non-empty object"),
        ({}, ["rankings"], {}, "rankings must be a non-empty object"),
        ({}, ["state"], "dynamodb", "is not {table, regions, refreshSeconds, timeoutSeconds}"),
        (WITH_STATE, ["state"], {"table": STATE_TABLE}, "is not {table, regions"),
        (WITH_STATE, ["state", "table"], "ab", "state table 'ab' is not a DynamoDB table name"),
        (WITH_STATE, ["state", "table"], "a table", "is not a DynamoDB table name"),
        (WITH_STATE, ["state", "table"], 7, "is not a DynamoDB table name"),
        (WITH_STATE, ["state", "regions"], [], "state regions [] is not a list of Region codes"),
        (WITH_STATE, ["state", "regions"], "us-east-1", "is not a list of Region codes"),
        (WITH_STATE, ["state", "regions"], ["us-east-1", "Mars"], "is not a list of Region codes"),
        (WITH_STATE, ["state", "refreshSeconds"], 0, "state refreshSeconds 0 is not a number"),
        (WITH_STATE, ["state", "refreshSeconds"], 3601, "up to 3600"),
        (WITH_STATE, ["state", "refreshSeconds"], True, "state refreshSeconds True"),
        (WITH_STATE, ["state", "refreshSeconds"], "15", "state refreshSeconds '15'"),
        (WITH_STATE, ["state", "timeoutSeconds"], 0, "state timeoutSeconds 0 is not a number"),
        (WITH_STATE, ["state", "timeoutSeconds"], 5.5, "up to 5"),
        (WITH_STATE, ["state", "timeoutSeconds"], -0.3, "state timeoutSeconds -0.3"),
        (WITH_STATE, ["state", "endpoint"], 4566, "state endpoint 4566 is not"),
        (WITH_STATE, ["state", "endpoint"], "127.0.0.1:4566", "is not an http(s) URL"),
        (WITH_STATE, ["state", "endpoint"], "http://h/path", "is not an http(s) URL"),
        (WITH_STATE, ["state", "endPoint"], "http://127.0.0.1:4566", "'endPoint'"),
    ],
)
def test_validation_rejects_a_tampered_document(options, path, value, fragment):
    document = tamper(tampered_base(options), path, value)
    with pytest.raises(ArtifactError) as raised:
        validate_artifact(document)
    assert fragment in str(raised.value)


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:4566", "https://dynamodb.local", "http://localhost:8000/"]
)
def test_an_endpoint_override_validates(endpoint):
    document = tampered_base(WITH_STATE)
    document["state"]["endpoint"] = endpoint
    validate_artifact(document)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def paths(document, prefix=()):
    """Every path to a value inside ``document``."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from paths(value, (*prefix, index))


BASES = {
    "ranked": json.loads(seed_artifact()),
    "fixed": json.loads(seed_artifact(**FIXED)),
    "state": tampered_base(WITH_STATE),
}


@given(data=st.data(), base=st.sampled_from(sorted(BASES)), value=json_values)
def test_validation_raises_only_artifact_errors_whatever_is_changed(data, base, value):
    document = copy.deepcopy(BASES[base])
    path = data.draw(st.sampled_from(list(paths(document))[1:]), label="path")
    tamper(document, list(path), value)
    try:
        validate_artifact(document)
    except ArtifactError:
        return
    # Accepted: then it is still a document the handler can route by.
    origins = set(document["origins"])
    for ranking in [document["defaultRanking"], *document["rankings"].values()]:
        assert sorted(ranking) == sorted(origins)
    assert document["fixedFailover"] in (None, *origins)


def test_validation_rejects_non_documents():
    with pytest.raises(ArtifactError, match="not a JSON object"):
        validate_artifact([])
    with pytest.raises(ArtifactError, match="keys"):
        validate_artifact({**json.loads(seed_artifact()), "extra": 1})


def test_a_rendered_artifact_validates():
    for options in ({}, {"failover": "fixed"}, {"failover": "off"}, WITH_STATE):
        validate_artifact(tampered_base(options))
