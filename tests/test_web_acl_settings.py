"""webAcl and wafRateLimit: read, and refused in one line naming the key, the value and what is
accepted, where AWS WAF or CloudFront would refuse them."""

import json

import pytest

from core.waf import DEFAULT_WAF_RATE_LIMIT
from settings.parser import parse_settings
from settings.table import ConfigError
from tests import aws_rules

GLOBAL_ARN = (
    "arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl/"
    "a1b2c3d4-5678-90ab-cdef-0123456789ab"
)
ORIGINS = ["us-east-1", "eu-central-1"]


def parse(**values):
    return parse_settings(
        {"origins": json.dumps(ORIGINS), **{key: str(value) for key, value in values.items()}},
        stack="test",
    )


def test_no_web_acl_by_default_and_the_rate_limit_default():
    settings = parse()
    assert settings.web_acl is None
    assert settings.waf_rate_limit == DEFAULT_WAF_RATE_LIMIT == 2000
    assert parse(webAcl="").web_acl is None


def test_managed_and_a_global_web_acl_arn_are_read():
    assert parse(webAcl="managed", wafRateLimit=500).web_acl == "managed"
    assert parse(webAcl="managed", wafRateLimit=500).waf_rate_limit == 500
    assert parse(webAcl=GLOBAL_ARN).web_acl == GLOBAL_ARN
    assert aws_rules.GLOBAL_WEB_ACL_ARN.match(GLOBAL_ARN)


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        (
            GLOBAL_ARN.replace("us-east-1", "eu-west-1").replace("global/", "regional/"),
            "geo-proximity:webAcl: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/site-acl/"
            "a1b2c3d4-5678-90ab-cdef-0123456789ab' is a regional web ACL in eu-west-1, which "
            "CloudFront cannot use; expected 'managed' or the ARN of a global (CloudFront-scope) "
            "web ACL, arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>",
        ),
        (
            GLOBAL_ARN.replace("global/", "regional/"),
            "is a regional web ACL in us-east-1, which CloudFront cannot use",
        ),
        (
            GLOBAL_ARN.replace("us-east-1", "eu-west-1"),
            "is a global web ACL in eu-west-1, which CloudFront cannot use",
        ),
    ],
)
def test_a_web_acl_cloudfront_cannot_use_is_refused_with_one_line(arn, message):
    with pytest.raises(ConfigError) as refused:
        parse(webAcl=arn)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not aws_rules.GLOBAL_WEB_ACL_ARN.match(arn)


@pytest.mark.parametrize(
    "value",
    [
        "Managed",
        "on",
        "arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl",
        "arn:aws:wafv2:us-east-1:12345:global/webacl/site-acl/a1b2c3d4-5678-90ab-cdef-0123456789ab",
        "arn:aws:wafv2:us-east-1:123456789012:global/ipset/site/a1b2c3d4-5678-90ab-cdef-0123456789ab",
        "a1b2c3d4-5678-90ab-cdef-0123456789ab",  # a WAF Classic id: CloudFront takes it, we do not
        GLOBAL_ARN + "\n",  # a YAML block scalar's newline
        GLOBAL_ARN.replace("site-acl", "sité-acl"),  # AWS WAF names are ASCII letters and digits
    ],
)
def test_anything_else_is_not_a_web_acl(value):
    with pytest.raises(ConfigError) as refused:
        parse(webAcl=value)
    assert str(refused.value) == (
        f"geo-proximity:webAcl: {value!r} is not 'managed' or the ARN of a global "
        "(CloudFront-scope) web ACL, arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>"
    )


@pytest.mark.parametrize("limit", [9, 0, -1, 2_000_000_001, "2k", "1e3"])
def test_a_rate_limit_outside_aws_wafs_range_is_refused(limit):
    with pytest.raises(ConfigError) as refused:
        parse(webAcl="managed", wafRateLimit=limit)
    assert str(refused.value) == (
        f"geo-proximity:wafRateLimit: {str(limit)!r} is not a whole number from 10 to 2000000000"
    )


@pytest.mark.parametrize("limit", [10, 2_000_000_000])
def test_the_ends_of_aws_wafs_range_are_accepted(limit):
    settings = parse(webAcl="managed", wafRateLimit=limit)
    assert settings.waf_rate_limit == limit
    assert limit in aws_rules.RATE_LIMIT_RANGE
