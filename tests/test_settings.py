import json
import re

import pytest

from components.defaults import (
    DEFAULT_ACCESS_LOG_DAYS,
    DEFAULT_ALARM_ERROR_COUNT,
    DEFAULT_ALARM_EVALUATION_MINUTES,
    DEFAULT_CONNECTION_ATTEMPTS,
    DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    DEFAULT_FAILOVER_STATUS_CODES,
    DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_NONCURRENT_VERSION_DAYS,
    DEFAULT_PRICE_CLASS,
)
from components.engine import Engine
from components.policies import OriginAccess
from routing.table import FailoverMode
from settings import ConfigError, parse_settings
from tools.stack_file import (
    project_config_defaults,
    project_values,
    read_stack_config,
    stack_file_path,
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
    assert settings.origin_access is OriginAccess.OAI
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
    assert settings.origin_access is OriginAccess.OAI
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
            "geo-proximity:failoverStatusCodes: True is not an integer status code",
        ),
        ({"origins": "[not json"}, "geo-proximity:origins: '[not json' is not a list"),
    ],
)
def test_more_bad_input(values, message):
    with pytest.raises(ConfigError) as raised:
        parse(**values)
    assert message in str(raised.value)


def test_pulumi_yaml_defaults_are_the_programs_defaults():
    declared = project_config_defaults()
    assert declared == {
        "failoverStatusCodes": list(DEFAULT_FAILOVER_STATUS_CODES),
        "engine": Engine.LAMBDA_EDGE.value,
        "priceClass": DEFAULT_PRICE_CLASS,
        "replicationTimeControl": False,
        "originConnectionAttempts": DEFAULT_CONNECTION_ATTEMPTS,
        "originConnectionTimeout": DEFAULT_CONNECTION_TIMEOUT_SECONDS,
        "logRetentionDays": DEFAULT_LOG_RETENTION_DAYS,
        "noncurrentVersionDays": DEFAULT_NONCURRENT_VERSION_DAYS,
        "securityHeaders": True,
        "monitoring": True,
        "alarmEvaluationMinutes": DEFAULT_ALARM_EVALUATION_MINUTES,
        "alarmErrorCount": DEFAULT_ALARM_ERROR_COUNT,
        "accessLogs": False,
        "accessLogDays": DEFAULT_ACCESS_LOG_DAYS,
    }
    # CloudFront waits attempts x timeout before failing over: at most 4 s here (its default: 30 s).
    assert DEFAULT_CONNECTION_ATTEMPTS * DEFAULT_CONNECTION_TIMEOUT_SECONDS <= 4


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
    assert settings.origin_access is OriginAccess.OAI


def test_cloudfront_functions_sign_with_oac_and_serve_regions_launched_after_2022():
    settings = parse(
        origins=["us-east-1", "ca-west-1", "ap-southeast-4"], engine="cloudfront-functions"
    )
    assert settings.engine is Engine.CLOUDFRONT_FUNCTIONS
    assert settings.origin_access is OriginAccess.OAC
    assert (
        parse(
            origins=["us-east-1"], engine="cloudfront-functions", originAccess="oac"
        ).origin_access
        is OriginAccess.OAC
    )


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
    with pytest.raises(ConfigError) as raised:
        parse(origins=["us-east-1", "eu-west-1"], drained=["eu-west-1"], defaultOrigin="eu-west-1")
    assert str(raised.value).startswith(
        "geo-proximity:defaultOrigin: 'eu-west-1' is drained and takes no traffic"
    )


def test_monitoring_and_access_log_settings_have_documented_defaults():
    settings = parse(origins=["us-east-1", "eu-west-1"])
    assert settings.monitoring is True and settings.alarm_email is None
    assert (
        settings.alarm_error_rate_percent,
        settings.alarm_evaluation_minutes,
        settings.alarm_error_count,
    ) == (5.0, 5, 1)
    assert settings.access_logs is False and settings.access_log_days == 90
    tuned = parse(
        origins=["us-east-1", "eu-west-1"],
        monitoring="false",
        alarmEmail="ops@example.com",
        alarmErrorRatePercent="0.5",
        accessLogs="true",
        accessLogDays="400",
    )
    assert (tuned.monitoring, tuned.alarm_email, tuned.alarm_error_rate_percent) == (
        False,
        "ops@example.com",
        0.5,
    )
    assert (tuned.access_logs, tuned.access_log_days) == (True, 400)


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
