import dataclasses
import json
import re
from pathlib import Path

import pytest

from core.cloudfront import DEFAULT_CONNECTION_ATTEMPTS, DEFAULT_CONNECTION_TIMEOUT_SECONDS
from core.engine import Engine, OriginAccess
from core.monitoring import ACCESS_LOG_FORMATS_CHARGED
from routing.table import FailoverMode
from settings.generator import configuration_page_table, configuration_table, project_file_config
from settings.generator import main as generator_main
from settings.parser import latency_path, parse_settings, project_values
from settings.stack_file import load_yaml, read_stack_config, stack_file_path
from settings.table import (
    CONFIGURATION_PAGE,
    KNOWN_KEYS,
    PROJECT_FILE,
    PROJECT_ROOT,
    SETTINGS,
    ConfigError,
    shown,
)


def parse(**values):
    return parse_settings(
        {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()
        },
        stack="test",
    )


def test_defaults_for_a_multi_region_stack():
    settings = parse(origins=["us-east-1", "eu-central-1", "ap-northeast-1"])
    assert settings.routing.default_origin == "us-east-1"
    assert settings.routing.failover_mode is FailoverMode.RANKED
    assert settings.routing.failover_origin == "eu-central-1"  # nearest to us-east-1
    assert settings.failover_status_codes == (403, 404, 500, 502, 503, 504)
    assert settings.engine.origin_access is OriginAccess.OAI
    assert settings.price_class == "PriceClass_All"
    assert settings.aliases == () and settings.certificate_arn is None
    assert dict(settings.tags) == {"project": "geo-proximity", "stack": "test"}


def test_a_single_origin_stack_has_failover_off():
    settings = parse(origins=["eu-west-1"])
    assert settings.routing.failover_mode is FailoverMode.OFF
    assert settings.routing.failover_origin is None


def test_every_key_is_read():
    settings = parse(
        origins=["us-east-1", "eu-central-1", "ap-southeast-2"],
        defaultOrigin="eu-central-1",
        routes={"ap-south-1": "ap-southeast-2"},
        failover="fixed",
        failoverOrigin="ap-southeast-2",
        failoverStatusCodes=[503, 500, 504, 503.0],
        originAccess="oai",
        priceClass="PriceClass_200",
        aliases=["cdn.example.com", "*.assets.example.com"],
        certificateArn="arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        tags={"team": "platform"},
    )
    assert settings.routing.default_origin == "eu-central-1"
    assert settings.routing.routes["ap-south-1"].primary == "ap-southeast-2"
    assert settings.routing.failover_mode is FailoverMode.FIXED
    assert settings.routing.failover_origin == "ap-southeast-2"
    assert settings.failover_status_codes == (500, 503, 504)
    assert settings.engine.origin_access is OriginAccess.OAI
    assert settings.price_class == "PriceClass_200"
    assert settings.aliases == ("cdn.example.com", "*.assets.example.com")
    assert settings.tags["team"] == "platform"


def test_settings_are_frozen():
    settings = parse(origins=["us-east-1"])
    with pytest.raises(AttributeError):
        settings.price_class = "PriceClass_100"
    with pytest.raises(TypeError):
        settings.tags["stack"] = "other"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"origins": ["us-east-1"], "tags": {"stack": "x"}},
            "geo-proximity:tags: 'stack' is set by the program itself",
        ),
        (
            {"origins": ["us-east-1"], "tags": {"aws:owner": "x"}},
            "geo-proximity:tags: 'aws:owner' is not a tag key",
        ),
        (
            {"origins": ["us-east-1"], "aliases": ["CDN.Example.com"]},
            "geo-proximity:aliases: 'CDN.Example.com' is not a lowercase domain name",
        ),
        (
            {
                "origins": ["us-east-1"],
                "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
                "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            },
            "geo-proximity:certificateArn: is set but aliases is empty",
        ),
        (
            {
                "origins": ["us-east-1"],
                "aliases": ["a.example.com"],
                "certificateArn": "not-an-arn",
            },
            "geo-proximity:certificateArn: 'not-an-arn' is not an ACM certificate ARN",
        ),
        (
            {"origins": ["us-east-1"], "failoverStatusCodes": []},
            "geo-proximity:failoverStatusCodes: is empty",
        ),
        (
            {"origins": ["us-east-1"], "failoverStatusCodes": [True]},
            "geo-proximity:failoverStatusCodes: true is not an integer status code",
        ),
        ({"origins": "[not json"}, "geo-proximity:origins: '[not json' is not a list"),
    ],
)
def test_more_bad_input(values, message):
    with pytest.raises(ConfigError) as raised:
        parse(**values)
    assert message in str(raised.value)


def test_pulumi_yaml_declares_what_the_table_declares():
    assert load_yaml(PROJECT_FILE)["config"] == project_file_config()
    declared = project_file_config()
    # Required, so declared without a default; the CLI would make any other such key required.
    assert "default" not in declared["origins"]
    assert [key for key, declaration in declared.items() if "default" not in declaration] == [
        "origins"
    ]
    # A default that follows the engine, and a fraction the schema cannot type, stay undeclared.
    assert "originAccess" not in declared and "alarmErrorRatePercent" not in declared
    assert declared["failoverStatusCodes"]["default"] == [403, 404, 500, 502, 503, 504]
    assert declared["engine"]["default"] == "lambda-edge"
    # CloudFront waits attempts x timeout before failing over: at most 4 s here (its default: 30 s).
    assert DEFAULT_CONNECTION_ATTEMPTS * DEFAULT_CONNECTION_TIMEOUT_SECONDS <= 4


def test_a_stack_that_sets_nothing_gets_the_tables_defaults():
    settings = parse(origins=["us-east-1", "eu-west-1"])
    table = {setting.key: setting.default for setting in SETTINGS}
    assert settings.engine.value == table["engine"]
    assert list(settings.failover_status_codes) == table["failoverStatusCodes"]
    assert settings.origin_connection_attempts == table["originConnectionAttempts"] == 3
    assert settings.origin_connection_timeout == table["originConnectionTimeout"] == 1
    assert settings.price_class == table["priceClass"]
    assert settings.security_headers is table["securityHeaders"] is True
    assert settings.log_retention_days == table["logRetentionDays"] == 30
    assert settings.noncurrent_version_days == table["noncurrentVersionDays"] == 30
    assert settings.replication_time_control is table["replicationTimeControl"] is False
    assert settings.monitoring is table["monitoring"] is True
    assert settings.alarm_error_rate_percent == table["alarmErrorRatePercent"] == 5.0
    assert settings.alarm_evaluation_minutes == table["alarmEvaluationMinutes"] == 5
    assert settings.alarm_error_count == table["alarmErrorCount"] == 1
    assert settings.access_logs is table["accessLogs"] is False
    assert settings.access_log_days == table["accessLogDays"] == 90
    assert settings.routing_metric.value == table["routingMetric"] == "distance"
    assert settings.latency_file == PROJECT_ROOT / table["latencyFile"]
    assert table["latencyFile"] == "latency.json"
    assert settings.latency_margin_ms == table["latencyMarginMs"] == 10
    assert settings.latency is None


def test_the_configuration_page_shows_the_tables_own_rendering():
    page = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    assert configuration_page_table(page) == configuration_table()
    rows = [line for line in configuration_table().splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(KNOWN_KEYS)
    assert (
        "| `failoverStatusCodes` | list of status codes | `[403, 404, 500, 502, 503, 504]` |"
        in (configuration_table())
    )
    assert "| `origins` | list of Region codes | required |" in configuration_table()
    assert "`originAccess` is a confirmation only" in page


def test_the_table_module_prints_the_table_it_writes(capsys):
    assert generator_main([]) == 0
    assert capsys.readouterr().out == configuration_table()


@pytest.mark.parametrize(
    "page",
    [
        "no markers at all\n",
        "<!-- settings:start -->\nonly a start\n",
        "<!-- settings:end -->\n<!-- settings:start -->\n",
        "<!-- settings:start -->\n<!-- settings:start -->\n<!-- settings:end -->",
    ],
)
def test_a_page_without_one_pair_of_markers_is_refused(page):
    with pytest.raises(ValueError, match="expected one <!-- settings:start --> line"):
        configuration_page_table(page)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        ({"a": 1}, '{"a": 1}'),
        (["a"], '["a"]'),
        ([1, None], "[1, null]"),
        ("eu-west-1", "'eu-west-1'"),
        (503.5, "503.5"),
    ],
)
def test_values_are_shown_as_typed_not_as_python_reprs(value, text):
    assert shown(value) == text


@pytest.mark.parametrize(
    ("key", "raw", "accepted"),
    [
        ("originConnectionAttempts", "0", "1 to 3"),
        ("originConnectionAttempts", "4", "1 to 3"),
        ("originConnectionAttempts", "two", "1 to 3"),
        ("originConnectionTimeout", "11", "1 to 10"),
        ("originConnectionTimeout", "1.5", "1 to 10"),
    ],
)
def test_connection_settings_are_bounded_as_cloudfront_bounds_them(key, raw, accepted):
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1", "eu-west-1"], **{key: raw})
    assert (
        str(raised.value) == f"geo-proximity:{key}: {raw!r} is not a whole number from {accepted}"
    )


@pytest.mark.parametrize("raw", ["29", "1", "-1", "3601", "30.5", "thirty", ""])
def test_the_completion_timeout_is_s3s_response_timeout_or_more_or_none(raw):
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1", "eu-west-1"], originResponseCompletionTimeout=raw)
    assert str(raised.value) == (
        f"geo-proximity:originResponseCompletionTimeout: {raw!r} is not a whole number from 30 "
        "to 3600, or 0 for none (at least 30: S3 origins' response timeout, which CloudFront "
        "requires it to be no less than)"
    )


@pytest.mark.parametrize(("raw", "seconds"), [(None, 0), ("0", 0), ("30", 30), ("3600", 3600)])
def test_the_completion_timeout_is_read(raw, seconds):
    values = {} if raw is None else {"originResponseCompletionTimeout": raw}
    settings = parse(origins=["us-east-1", "eu-west-1"], **values)
    assert settings.origin_response_completion_timeout == seconds


def test_connection_settings_are_read():
    settings = parse(
        origins=["us-east-1", "eu-west-1"],
        originConnectionAttempts="3",
        originConnectionTimeout="1",
    )
    assert (settings.origin_connection_attempts, settings.origin_connection_timeout) == (3, 1)


def read_stack_file(path):
    return project_values(read_stack_config(path))


def test_stack_files_read_as_the_cli_passes_them():
    prod = read_stack_file(stack_file_path("prod"))
    assert json.loads(prod["origins"]) == ["us-east-1", "eu-central-1", "ap-northeast-1"]
    assert prod["engine"] == "lambda-edge"  # a Pulumi.yaml default
    assert json.loads(prod["failoverStatusCodes"]) == [403, 404, 500, 502, 503, 504]
    dev = parse_settings(read_stack_file(stack_file_path("dev")), stack="dev")
    assert len(dev.origins) == 2 and dev.price_class == "PriceClass_100"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"logRetentionDays": "31"}, "geo-proximity:logRetentionDays: '31' is not a retention"),
        ({"logRetentionDays": "-1"}, "geo-proximity:logRetentionDays: '-1' is not a retention"),
        ({"noncurrentVersionDays": "0"}, "'0' is not a whole number from 1 to 36500"),
        ({"securityHeaders": "yes"}, "geo-proximity:securityHeaders: 'yes' is not true or false"),
    ],
)
def test_retention_lifecycle_and_headers_are_checked(values, message):
    with pytest.raises(ConfigError, match=message):
        parse(origins=["us-east-1", "eu-west-1"], **values)


def test_retention_lifecycle_and_headers_are_read():
    settings = parse(
        origins=["us-east-1", "eu-west-1"],
        logRetentionDays="365",
        noncurrentVersionDays="7",
        securityHeaders="false",
    )
    assert settings.log_retention_days == 365
    assert settings.noncurrent_version_days == 7
    assert settings.security_headers is False


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"Project": "x"}, "'Project' is set by the program itself (to the project name)"),
        ({"STACK": "x"}, "'STACK' is set by the program itself (to the stack name)"),
        ({"Team": "a", "team": "b"}, "'team' and 'Team' are one key to IAM, which ignores case"),
        ({"AWS:owner": "x"}, "'AWS:owner' is not a tag key"),
        ({"k" * 129: "x"}, "is not a tag key: 1-128 letters"),
        ({"": "x"}, "'' is not a tag key"),
        ({"cost#center": "x"}, "'cost#center' is not a tag key"),
        ({"team": "a,b"}, "the value of 'team', 'a,b', is not text of at most 256 letters"),
        ({"team": "v" * 257}, "is not text of at most 256 letters"),
        ({f"key{i}": "v" for i in range(49)}, "has 49 tags; AWS allows 50 per resource"),
    ],
)
def test_tags_are_refused_where_aws_would_refuse_them(tags, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(origins=["us-east-1"], tags=tags)


def test_tags_aws_accepts_are_kept():
    tags = {f"key{i}": "v" for i in range(47)} | {"Cost Center": "é/ü:+=@-_. 1"}
    settings = parse(origins=["us-east-1"], tags=tags)
    assert len(settings.tags) == 50 and settings.tags["Cost Center"] == "é/ü:+=@-_. 1"


def test_the_engine_defaults_to_lambda_edge_with_oai():
    settings = parse(origins=["us-east-1", "eu-west-1"])
    assert settings.engine is Engine.LAMBDA_EDGE and settings.next_engine is None
    assert settings.engine.origin_access is OriginAccess.OAI


def test_cloudfront_functions_sign_with_oac_and_serve_regions_launched_after_2022():
    settings = parse(
        origins=["us-east-1", "ca-west-1", "ap-southeast-4"], engine="cloudfront-functions"
    )
    assert settings.engine is Engine.CLOUDFRONT_FUNCTIONS
    assert settings.engine.origin_access is OriginAccess.OAC


@pytest.mark.parametrize(
    ("engine", "access"), [("lambda-edge", "oai"), ("cloudfront-functions", "oac")]
)
def test_origin_access_is_a_confirmation_that_changes_nothing(engine, access):
    plain = parse(origins=["us-east-1", "eu-west-1"], engine=engine)
    confirmed = parse(origins=["us-east-1", "eu-west-1"], engine=engine, originAccess=access)
    assert not hasattr(confirmed, "origin_access")
    assert dataclasses.replace(confirmed, values=plain.values) == plain


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"engine": "lambda@edge"},
            "engine: 'lambda@edge' is not one of: lambda-edge, cloudfront-functions",
        ),
        (
            {"engine": "cloudfront-functions", "originAccess": "oai"},
            "originAccess: 'oai' is not used by the cloudfront-functions engine",
        ),
        ({"originAccess": "oac"}, "'oac' does not work when Lambda@Edge changes the origin"),
        ({"originAccess": "none"}, "originAccess: 'none' is not one of: oai, oac"),
        ({"nextEngine": "lambda-edge"}, "nextEngine: 'lambda-edge' is already the engine"),
        ({"nextEngine": "cloudfront"}, "nextEngine: 'cloudfront' is not one of"),
        (
            {
                "origins": ["us-east-1", "mx-central-1"],
                "engine": "cloudfront-functions",
                "nextEngine": "lambda-edge",
            },
            "nextEngine: 'lambda-edge' cannot serve mx-central-1",
        ),
        (
            {"origins": ["us-east-1", "mx-central-1"]},
            "pulumi config set geo-proximity:engine cloudfront-functions",
        ),
    ],
)
def test_engine_settings_are_checked(values, message):
    with pytest.raises(ConfigError) as raised:
        parse(**{"origins": ["us-east-1", "eu-west-1"], **values})
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_function_past_cloudfronts_size_limit_is_refused_before_deploy(monkeypatch):
    import edge_function.cloudfront_function as cloudfront_function

    monkeypatch.setattr(cloudfront_function, "MAX_CODE_BYTES", 1_000)
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1", "eu-west-1"], engine="cloudfront-functions")
    assert str(raised.value).startswith(
        "geo-proximity:origins: the generated CloudFront function is"
    )
    assert "at most 1,000 (CloudFront quotas); use fewer origins" in str(raised.value)
    # The Lambda@Edge engine has no such function.
    assert parse(origins=["us-east-1", "eu-west-1"]).engine is Engine.LAMBDA_EDGE


def test_every_catalogue_region_as_an_origin_stays_within_the_size_limit():
    from routing.catalogue import load_catalogue

    settings = parse(
        origins=list(load_catalogue()), engine="cloudfront-functions", failover="ranked"
    )
    assert len(settings.origins) > 30


def test_drained_origins_are_read_and_checked():
    settings = parse(origins=["us-east-1", "eu-west-1", "eu-central-1"], drained=["eu-west-1"])
    assert settings.routing.drained == {"eu-west-1"}
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1", "eu-west-1"], drained="eu-west-1")
    assert str(raised.value) == (
        "geo-proximity:drained: 'eu-west-1' is not a list; set it as one: "
        "pulumi config set --path 'geo-proximity:drained[0]' eu-west-1"
    )
    # Draining is routing state: even the default origin may be drained (the edge routes around
    # it), while the static configuration stays as it was.
    drained = parse(
        origins=["us-east-1", "eu-west-1"], drained=["eu-west-1"], defaultOrigin="eu-west-1"
    )
    assert drained.routing.default_origin == "eu-west-1"
    assert drained.routing.route_for("eu-west-2").primary == "us-east-1"
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1", "eu-west-1"], drained=["eu-west-1", "us-east-1"])
    assert "drains every origin" in str(raised.value)


def test_monitoring_and_access_log_settings_have_documented_defaults():
    settings = parse(origins=["us-east-1", "eu-west-1"])
    assert settings.monitoring is True and settings.alarm_email is None
    assert (
        settings.alarm_error_rate_percent,
        settings.alarm_evaluation_minutes,
        settings.alarm_error_count,
    ) == (5.0, 5, 1)
    assert settings.access_logs is False and settings.access_log_days == 90
    # The free format: only Parquet is a conversion CloudWatch bills.
    assert settings.access_log_format == "w3c"
    assert set(ACCESS_LOG_FORMATS_CHARGED) == {"parquet"}
    assert settings.access_log_format not in ACCESS_LOG_FORMATS_CHARGED
    tuned = parse(
        origins=["us-east-1", "eu-west-1"],
        monitoring="false",
        alarmEmail="ops@example.com",
        alarmErrorRatePercent="0.5",
        accessLogs="true",
        accessLogDays="400",
        accessLogFormat="parquet",
    )
    assert (tuned.monitoring, tuned.alarm_email, tuned.alarm_error_rate_percent) == (
        False,
        "ops@example.com",
        0.5,
    )
    assert (tuned.access_logs, tuned.access_log_days, tuned.access_log_format) == (
        True,
        400,
        "parquet",
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"alarmEmail": "ops at example"}, "alarmEmail: 'ops at example' is not an email address"),
        ({"alarmErrorRatePercent": "0"}, "alarmErrorRatePercent: '0' is not a percentage"),
        ({"alarmErrorRatePercent": "lots"}, "alarmErrorRatePercent: 'lots' is not a percentage"),
        ({"alarmEvaluationMinutes": "0"}, "'0' is not a whole number from 1 to 1440"),
        ({"alarmErrorCount": "-2"}, "'-2' is not a whole number from 1 to 1000000"),
        ({"monitoring": "on"}, "monitoring: 'on' is not true or false"),
        ({"accessLogs": "yes"}, "accessLogs: 'yes' is not true or false"),
        ({"accessLogDays": "0"}, "accessLogDays: '0' is not a whole number from 1 to 36500"),
        (
            {"accessLogFormat": "Parquet"},
            "accessLogFormat: 'Parquet' is not one of: w3c, json, plain, parquet",
        ),
        ({"accessLogFormat": "raw"}, "accessLogFormat: 'raw' is not one of: w3c, json, plain"),
    ],
)
def test_monitoring_and_access_log_settings_are_checked(values, message):
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1", "eu-west-1"], **values)
    assert message in str(raised.value)


def test_failover_codes_must_let_a_dead_or_stalled_region_fail_over():
    # 429 is a failover code in the current CloudFront guide; 503 and 504 are needed for failover
    # from a Region that cannot be reached or times out.
    settings = parse(origins=["us-east-1", "eu-west-1"], failoverStatusCodes=[429, 503, 504])
    assert settings.failover_status_codes == (429, 503, 504)
    for codes, missing in (([500, 504], "503"), ([503], "504"), ([404], "503 and 504")):
        with pytest.raises(ConfigError) as raised:
            parse(origins=["us-east-1", "eu-west-1"], failoverStatusCodes=codes)
        assert f"lacks {missing}:" in str(raised.value)
    # With failover off the codes are never used, so any accepted ones do.
    off = parse(origins=["us-east-1", "eu-west-1"], failover="off", failoverStatusCodes=[404])
    assert off.failover_status_codes == (404,)


NAMESPACE_HINT = "is not this project's namespace (geo-proximity); did you mean geo-proximity:"


@pytest.mark.parametrize(
    ("namespaced", "message"),
    [
        ("geoproximity:origins", f"geoproximity:origins: 'geoproximity' {NAMESPACE_HINT}origins?"),
        (
            "geo_proximity:origins",
            f"geo_proximity:origins: 'geo_proximity' {NAMESPACE_HINT}origins?",
        ),
        ("geo-proximty:origin", f"geo-proximty:origin: 'geo-proximty' {NAMESPACE_HINT}origins?"),
        (
            "Geo-Proximity:failOver",
            f"Geo-Proximity:failOver: 'Geo-Proximity' {NAMESPACE_HINT}failover?",
        ),
        # Far from the project's name, but one of its keys: meant for it all the same.
        ("cdn:priceClass", f"cdn:priceClass: 'cdn' {NAMESPACE_HINT}priceClass?"),
        (
            "geoproximity:zzz",
            "geoproximity:zzz: 'geoproximity' is not this project's namespace (geo-proximity); "
            f"and 'zzz' is none of its keys: {', '.join(KNOWN_KEYS)}",
        ),
    ],
)
def test_a_key_meant_for_this_project_in_another_namespace_is_refused(namespaced, message):
    # Before: ignored, so the stack was told origins is required, or ran without the setting.
    with pytest.raises(ConfigError) as raised:
        project_values({"geo-proximity:origins": '["us-east-1"]', namespaced: "x"})
    assert str(raised.value) == message


def test_keys_of_the_provider_the_cli_and_unrelated_namespaces_pass_through():
    config = {
        "geo-proximity:origins": '["us-east-1"]',
        "aws:region": "eu-west-1",
        "aws:defaultTags": '{"tags": {"team": "cdn"}}',
        "pulumi:tags": '{"owner": "cdn"}',
        "random:seed": "7",
    }
    assert project_values(config) == {"origins": '["us-east-1"]'}


def test_the_home_region_is_checked_against_the_catalogue():
    from routing.catalogue import load_catalogue

    with pytest.raises(ConfigError) as raised:
        project_values({"aws:region": "eu-westt-1", "geo-proximity:origins": '["us-east-1"]'})
    assert str(raised.value) == (
        "aws:region: 'eu-westt-1' is not a known AWS Region code; did you mean eu-west-1 or "
        "us-west-1 or eu-west-3? "
        f"known codes: {', '.join(sorted(load_catalogue()))}"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "failOver",
            "geo-proximity:failOver: is not a setting of this project; did you mean "
            "geo-proximity:failover?",
        ),
        (
            "ORIGINACCESS",
            "geo-proximity:ORIGINACCESS: is not a setting of this project; did you "
            "mean geo-proximity:originAccess?",
        ),
        (
            "zzz",
            "geo-proximity:zzz: is not a setting of this project; known keys: "
            + ", ".join(KNOWN_KEYS),
        ),
    ],
)
def test_an_unknown_key_names_the_nearest_known_one(key, message):
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1"], **{key: "x"})
    assert str(raised.value) == message


ARN_ID = "123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        # Well formed, wrong Region; and wrong Region with a mistyped id (before: "not an ACM
        # certificate ARN").
        (f"arn:aws:acm:eu-west-1:{ARN_ID}", "is in eu-west-1"),
        ("arn:aws:acm:eu-west-1:123456789012:certificate/abc", "is in eu-west-1"),
        (f"arn:aws-cn:acm:cn-north-1:{ARN_ID}", "is in cn-north-1"),
    ],
)
def test_a_certificate_outside_us_east_1_is_told_where_it_must_be(arn, message):
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1"], aliases=["cdn.example.com"], certificateArn=arn)
    assert str(raised.value) == (
        f"geo-proximity:certificateArn: {arn!r} {message}; the certificate must be in us-east-1, "
        "the only Region whose ACM certificates CloudFront uses"
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        f"arn:aws:iam::{ARN_ID}",
        f"arn:aws:acm:us-east-1:{ARN_ID}\n",  # a YAML block scalar's newline: CloudFront refuses it
        "arn:aws:acm:us-east-1:"
        + "\N{FULLWIDTH DIGIT ONE}" * 12
        + ":certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
    ],
)
def test_a_malformed_certificate_arn_is_not_an_acm_certificate_arn(arn):
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1"], aliases=["cdn.example.com"], certificateArn=arn)
    assert str(raised.value) == (
        f"geo-proximity:certificateArn: {arn!r} is not an ACM certificate ARN "
        "(arn:aws:acm:us-east-1:<account>:certificate/<id>)"
    )


REGION_LIST = 'a list of Region codes, e.g. ["us-east-1", "eu-central-1"]'
ROUTE_MAP = 'a map of edge Region to origin Region, e.g. {"ap-south-1": "eu-central-1"}'


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"origins": "null"}, f"origins: null is not {REGION_LIST}"),
        ({"origins": '{"a": 1}'}, f'origins: {{"a": 1}} is not {REGION_LIST}'),
        ({"origins": "[null]"}, f"origins: null is not a Region code; expected {REGION_LIST}"),
        ({"origins": "[true]"}, f"origins: true is not a Region code; expected {REGION_LIST}"),
        (
            {"drained": '[{"a": 1}]'},
            f'drained: {{"a": 1}} is not a Region code; expected {REGION_LIST}',
        ),
        ({"routes": "null"}, f"routes: null is not {ROUTE_MAP}"),
        (
            {"routes": '{"ap-south-1": null}'},
            f"routes: the route for 'ap-south-1', null, is not a Region code; expected {ROUTE_MAP}",
        ),
        (
            {"tags": '{"team": null}'},
            "tags: the value of 'team', null, is not text of at most 256 letters, digits, spaces "
            "and _ . : / = + - @",
        ),
        (
            {"tags": '["team"]'},
            'tags: ["team"] is not a map of tag key to value, e.g. {"team": "cdn"}',
        ),
        (
            {"aliases": "[null]"},
            "aliases: null is not a lowercase domain name such as cdn.example.com",
        ),
        (
            {"aliases": '["a.example.com", "a.example.com"]'},
            "aliases: 'a.example.com' is listed twice",
        ),
        (
            {"failoverStatusCodes": '[{"code": 503}]'},
            'failoverStatusCodes: {"code": 503} is not an integer status code; expected 400, 403, '
            "404, 416, 429, 500, 502, 503, 504",
        ),
        (
            {"failoverStatusCodes": "null"},
            "failoverStatusCodes: null is not a list of status codes, e.g. [503, 504]",
        ),
        (
            {"aliases": '["cdn.example.com"]'},
            'certificateArn: is required with aliases ["cdn.example.com"]: CloudFront serves '
            "custom domain names only with an ACM certificate in us-east-1 that covers them",
        ),
    ],
)
def test_messages_show_values_as_typed_never_python_reprs(values, message):
    with pytest.raises(ConfigError) as raised:
        parse_settings({"origins": '["us-east-1", "eu-west-1"]', **values}, stack="t")
    assert str(raised.value) == f"geo-proximity:{message}"
    assert not re.search(r"\bNone\b|\bTrue\b|\bFalse\b|\{'|\['", str(raised.value))


def test_origins_required_names_the_shape_and_the_command():
    with pytest.raises(ConfigError) as raised:
        parse_settings({}, stack="t")
    assert str(raised.value) == (
        f"geo-proximity:origins: is required: {REGION_LIST} "
        "(pulumi config set --path 'geo-proximity:origins[0]' ...)"
    )


# --- routing by measured latency ---------------------------------------------------------------

SNAPSHOT = {
    "source": "synthetic",
    "measured": "2026-11-28",
    "statistic": "p50",
    "unit": "ms",
    "latency": {"ap-south-1": {"eu-central-1": 120.0, "ap-northeast-1": 100.0}},
}
SEED = ["us-east-1", "eu-central-1", "ap-northeast-1"]


def snapshot_file(tmp_path, document=SNAPSHOT):
    path = tmp_path / "latency.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), "utf-8")
    return path


def test_latency_routing_reads_the_snapshot_and_applies_the_margin(tmp_path):
    path = snapshot_file(tmp_path)
    settings = parse(origins=SEED, routingMetric="latency", latencyFile=str(path))
    assert settings.routing_metric.value == "latency" and settings.latency_file == path
    assert settings.latency.between("ap-south-1", "ap-northeast-1") == 100.0
    assert settings.routing.routes["ap-south-1"].primary == "ap-northeast-1"
    kept = parse(origins=SEED, routingMetric="latency", latencyFile=str(path), latencyMarginMs="21")
    assert kept.latency_margin_ms == 21
    assert kept.routing.routes["ap-south-1"].primary == "eu-central-1"


def test_by_distance_the_snapshot_is_not_even_read(tmp_path):
    settings = parse(origins=SEED, latencyFile=str(tmp_path / "nowhere.json"))
    assert settings.latency is None
    assert settings.routing.routes["ap-south-1"].primary == "eu-central-1"


def test_a_relative_latency_file_is_taken_from_the_project_directory():
    assert latency_path(None) == PROJECT_ROOT / "latency.json"
    assert latency_path("data/lat.json") == PROJECT_ROOT / "data" / "lat.json"
    assert latency_path("/srv/lat.json") == Path("/srv/lat.json")
    assert parse(origins=SEED, latencyFile="").latency_file == PROJECT_ROOT / "latency.json"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (None, "no latency snapshot at {path}"),
        ("[1, 2", "{path}:1:6: not valid JSON (Expecting ',' delimiter)"),
        ({**SNAPSHOT, "unit": "s"}, '{path}: holds "p50" in "s"; routing reads p50 round trips'),
        (
            {**SNAPSHOT, "latency": {"ap-south-1": {"eu-central-1": -3}}},
            "{path}: latency: ap-south-1 to eu-central-1 is -3, not a round trip in ms",
        ),
    ],
)
def test_latency_without_a_usable_snapshot_says_to_fetch_one(tmp_path, document, reason):
    path = tmp_path / "latency.json" if document is None else snapshot_file(tmp_path, document)
    with pytest.raises(ConfigError) as raised:
        parse(origins=SEED, routingMetric="latency", latencyFile=str(path))
    message = str(raised.value)
    assert message.startswith(f"geo-proximity:latencyFile: {reason.format(path=path)}")
    advice = (
        "write it with `./dev latency fetch --stack test`"
        if document is None
        # Fetching refuses to replace a file that is not a snapshot: it is not advised then.
        else "point latencyFile at a snapshot (`./dev latency fetch` does not replace a file "
        "that is not one)"
    )
    assert message.endswith(
        f". routingMetric 'latency' routes by this snapshot: {advice}, or set routingMetric to "
        "distance"
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"routingMetric": "nearest"},
            "geo-proximity:routingMetric: 'nearest' is not one of: distance, latency",
        ),
        (
            {"latencyMarginMs": "-1"},
            "geo-proximity:latencyMarginMs: '-1' is not a whole number from 0 to 1000",
        ),
        (
            {"latencyMarginMs": "2.5"},
            "geo-proximity:latencyMarginMs: '2.5' is not a whole number from 0 to 1000",
        ),
        (
            {"latencyMargin": "5"},
            "geo-proximity:latencyMargin: is not a setting of this project; did you mean "
            "geo-proximity:latencyMarginMs?",
        ),
    ],
)
def test_latency_settings_are_checked(values, message):
    with pytest.raises(ConfigError) as raised:
        parse(origins=SEED, **values)
    assert str(raised.value) == message


def test_evacuation_is_on_with_two_origins_and_its_settings_are_checked():
    two = parse(origins=["us-east-1", "eu-west-1"])
    # Lambda@Edge reads the table, not a key of a store.
    assert two.evacuation is True and two.state_key is None
    functions = parse(origins=["us-east-1", "eu-west-1"], engine="cloudfront-functions")
    assert functions.state_key == "rotation"
    assert (two.evacuation_failures, two.evacuation_recoveries) == (4, 13)
    # The blast radius: half the origins, rounded down, at least one.
    assert two.evacuation_max_out == 1
    assert parse(origins=SEED).evacuation_max_out == len(SEED) // 2
    five = ["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"]
    assert parse(origins=five).evacuation_max_out == 2
    assert parse(origins=five, evacuationMaxOut="4").evacuation_max_out == 4
    assert two.evacuation_vantages == ("us-east-1", "eu-west-1", "ap-northeast-1")
    one = parse(origins=["us-east-1"])
    assert one.evacuation is False and one.state_key is None and not one.routing_state
    off = parse(origins=["us-east-1", "eu-west-1"], evacuation="false")
    assert off.evacuation is False and off.state_key is None
    off_functions = parse(
        origins=["us-east-1", "eu-west-1"], evacuation="false", engine="cloudfront-functions"
    )
    assert off_functions.state_key == "drained"
    custom = parse(
        origins=["us-east-1", "eu-west-1"],
        evacuationFailures="5",
        evacuationRecoveries="12",
        evacuationVantages=["us-west-2", "eu-central-1"],
    )
    assert (custom.evacuation_failures, custom.evacuation_recoveries) == (5, 12)
    assert custom.evacuation_vantages == ("us-west-2", "eu-central-1")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "3",
            "geo-proximity:evacuationMaxOut: 3 would let the health checks take every one of "
            "the 3 origins out of rotation; use 1 to 2",
        ),
        ("0", "geo-proximity:evacuationMaxOut: '0' is not a whole number from 1 to 50"),
        ("half", "geo-proximity:evacuationMaxOut: 'half' is not a whole number from 1 to 50"),
    ],
)
def test_the_blast_radius_leaves_an_origin_in_rotation(value, message):
    with pytest.raises(ConfigError) as raised:
        parse(origins=SEED, evacuationMaxOut=value)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"origins": ["us-east-1"], "evacuation": "true"},
            "geo-proximity:evacuation: true needs at least two origins, and only us-east-1 has a "
            "bucket",
        ),
        (
            {"origins": ["us-east-1", "eu-west-1"], "evacuationVantages": ["us-east-1"]},
            'geo-proximity:evacuationVantages: ["us-east-1"] has 1 Region(s); two must agree',
        ),
        (
            {"origins": ["us-east-1", "eu-west-1"], "evacuationVantages": ["eu-west-1"] * 2},
            'geo-proximity:evacuationVantages: ["eu-west-1", "eu-west-1"] lists a Region twice',
        ),
        (
            {
                "origins": ["us-east-1", "eu-west-1"],
                "evacuationVantages": ["us-east-1", "me-south-1"],
            },
            "geo-proximity:evacuationVantages: me-south-1 is an opt-in Region",
        ),
        (
            {
                "origins": ["us-east-1", "eu-west-1"],
                "evacuationVantages": ["us-east-1", "eu-north-1"],
            },
            "geo-proximity:evacuationVantages: eu-north-1 is not a Region where Lambda@Edge runs",
        ),
        (
            {"origins": ["us-east-1", "eu-west-1"], "evacuationFailures": "0"},
            "geo-proximity:evacuationFailures:",
        ),
        (
            {"origins": ["us-east-1", "eu-west-1"], "evacuationRecoveries": "61"},
            "geo-proximity:evacuationRecoveries:",
        ),
    ],
)
def test_bad_evacuation_settings_are_one_line(values, message):
    with pytest.raises(ConfigError) as raised:
        parse(**values)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_cloudfront_functions_may_check_from_any_region_every_account_has():
    settings = parse(
        origins=["us-east-1", "eu-west-1"],
        engine="cloudfront-functions",
        evacuationVantages=["eu-north-1", "ca-central-1"],
    )
    assert settings.evacuation_vantages == ("eu-north-1", "ca-central-1")
