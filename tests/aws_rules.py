"""AWS's rules that Pulumi's mocks do not check, written out independently of the code under test.

Each rule names the AWS documentation page it comes from (CloudFront, S3, Lambda and CloudWatch
developer guides and API references, as of 2026).
"""

import re

LAMBDA_EDGE_HOME_REGION = "us-east-1"
LAMBDA_EDGE_RUNTIMES = {"python3.12", "python3.13"}
LAMBDA_EDGE_ARCHITECTURES = ["x86_64"]
ORIGIN_REQUEST_MAX_TIMEOUT_SECONDS = 30
ORIGIN_REQUEST_MAX_MEMORY_MB = 10_240
LAMBDA_EDGE_TRUSTED_SERVICES = {"lambda.amazonaws.com", "edgelambda.amazonaws.com"}
# A numbered version: CloudFront refuses $LATEST and aliases.
QUALIFIED_FUNCTION_ARN = re.compile(
    r"^arn:aws:lambda:us-east-1:\d{12}:function:[A-Za-z0-9_-]+:\d+$"
)

ORIGIN_GROUP_MEMBERS = 2
# CloudFront developer guide, "Optimize high availability with CloudFront origin failover": "You can
# choose any combination of the following status codes: 400, 403, 404, 416, 429, 500, 502, 503, or
# 504."
FAILOVER_STATUS_CODES = {400, 403, 404, 416, 429, 500, 502, 503, 504}
# Same page: failover when "CloudFront fails to connect to the primary origin (when 503 is set as a
# failover code)" or the response "times out (when 504 is set as a failover code)".
FAILOVER_ON_CONNECTION_FAILURE = 503
FAILOVER_ON_TIME_OUT = 504
# Same page: failover only for GET, HEAD and OPTIONS; "CloudFront will not failover if OPTIONS are
# not set as a Cached HTTP methods in your cache behavior."
ORIGIN_GROUP_METHODS = {"GET", "HEAD", "OPTIONS"}


def failover_problems(status_codes: list, allowed_methods: list, cached_methods: list) -> list[str]:
    """Where an origin group (static or made per request) would not fail over from a dead, stalled
    or failing Region, or would be refused."""
    codes = {int(code) for code in status_codes}
    problems = [f"status code {code} cannot fail over" for code in codes - FAILOVER_STATUS_CODES]
    if FAILOVER_ON_CONNECTION_FAILURE not in codes:
        problems.append("no 503: a Region that cannot be reached is an error, not a failover")
    if FAILOVER_ON_TIME_OUT not in codes:
        problems.append("no 504: a Region that times out is an error, not a failover")
    if not set(allowed_methods) <= ORIGIN_GROUP_METHODS:
        problems.append(f"methods {sorted(allowed_methods)} do not all fail over")
    if "OPTIONS" in allowed_methods and "OPTIONS" not in cached_methods:
        problems.append("OPTIONS allowed but not cached: it never fails over")
    return problems


MAX_ORIGIN_CUSTOM_HEADERS = 10
RESERVED_ORIGIN_HEADERS = {
    "cache-control",
    "connection",
    "content-length",
    "cookie",
    "host",
    "max-forwards",
    "pragma",
    "range",
    "request-range",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
    "x-real-ip",
}
RESERVED_ORIGIN_HEADER_PREFIXES = ("if-", "proxy-", "x-amz-", "x-edge-")

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
CLOUDFRONT_PRICE_CLASSES = {"PriceClass_All", "PriceClass_200", "PriceClass_100"}


def is_reserved_origin_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in RESERVED_ORIGIN_HEADERS or lowered.startswith(RESERVED_ORIGIN_HEADER_PREFIXES)


def is_valid_bucket_name(name: str) -> bool:
    return (
        bool(BUCKET_NAME.match(name))
        and ".." not in name
        and not re.match(r"^\d+\.\d+\.\d+\.\d+$", name)
    )


def origin_access_behind_a_rewrite(distribution_inputs: dict) -> str:
    """The origin access of a distribution whose origin-request function rewrites the origin: "oai"
    when every S3 origin signs with an origin access identity. CloudFront developer guide, "Restrict
    access to an Amazon S3 origin": "OAC doesn't support origin redirect by using Lambda@Edge"."""
    behavior = distribution_inputs["defaultCacheBehavior"]
    rewrites = any(
        a["eventType"] == "origin-request" for a in behavior.get("lambdaFunctionAssociations", [])
    )
    origins = distribution_inputs["origins"]
    if rewrites and any(origin.get("originAccessControlId") for origin in origins):
        raise AssertionError("an OAC origin behind a Lambda@Edge origin rewrite")
    assert all(origin.get("s3OriginConfig", {}).get("originAccessIdentity") for origin in origins)
    return "oai"


# Origin connection settings (CloudFront API, Origin: ConnectionAttempts 1-3,
# ConnectionTimeout 1-10 s).
CONNECTION_ATTEMPTS = range(1, 4)
CONNECTION_TIMEOUT_SECONDS = range(1, 11)

# CloudFront API reference, Origin, ResponseCompletionTimeout (https://docs.aws.amazon.com/cloudfront/
# latest/APIReference/API_Origin.html): "If the complete response isn't received from the origin by
# this time, CloudFront ends the connection. The value for ResponseCompletionTimeout must be equal
# to or greater than the value for OriginReadTimeout. If you don't set a value for
# ResponseCompletionTimeout, CloudFront doesn't enforce a maximum value." S3OriginConfig,
# OriginReadTimeout: "The minimum timeout is 1 second, the maximum is 120 seconds, and the default
# (if you don't specify otherwise) is 30 seconds"; an origin with origin access control declares no
# S3 origin config, so its read timeout is that default. pulumi-aws: 0 enforces no maximum.
S3_ORIGIN_READ_TIMEOUT_DEFAULT = 30
S3_ORIGIN_READ_TIMEOUT_SECONDS = range(1, 121)


def response_completion_problems(origin: dict) -> list[str]:
    """What CloudFront would refuse in an S3 origin's read and response completion timeouts."""
    read = origin.get("s3OriginConfig", {}).get("originReadTimeout", S3_ORIGIN_READ_TIMEOUT_DEFAULT)
    problems = []
    if read not in S3_ORIGIN_READ_TIMEOUT_SECONDS:
        problems.append(f"origin read timeout {read} s is not 1-120 s")
    completion = origin.get("responseCompletionTimeout")
    # Pulumi hands numbers over as floats; CloudFront takes whole seconds.
    whole = isinstance(completion, int | float) and float(completion).is_integer()
    if completion not in (None, 0) and (not whole or completion < read):
        problems.append(f"response completion timeout {completion} s is under the read timeout")
    return problems


def stalled_origin_wait_seconds(origin: dict) -> int:
    """The longest a cache miss waits on an S3 origin that accepts connections and never answers:
    the response completion timeout where there is one (CloudFront then ends the connection, with
    no documented failover), else the read timeout on every attempt, then failover (the costlier
    reading of the developer guide, docs/configuration.md)."""
    read = origin.get("s3OriginConfig", {}).get("originReadTimeout", S3_ORIGIN_READ_TIMEOUT_DEFAULT)
    every_attempt = origin.get("connectionAttempts", 3) * read
    completion = origin.get("responseCompletionTimeout") or every_attempt
    return min(completion, every_attempt)


# CloudWatch Logs retentionInDays (PutRetentionPolicy).
LOG_RETENTION_DAYS = {
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
}  # fmt: skip
# CloudFront developer guide, "Use managed response headers policies": SecurityHeadersPolicy.
MANAGED_SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"

# CloudFront accepts exactly these method sets on a cache behaviour (API, AllowedMethods and
# CachedMethods); anything else is refused.
ALLOWED_METHOD_SETS = (
    {"GET", "HEAD"},
    {"GET", "HEAD", "OPTIONS"},
    {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"},
)
CACHED_METHOD_SETS = ({"GET", "HEAD"}, {"GET", "HEAD", "OPTIONS"})

# Lambda@Edge does not support these function settings (CloudFront developer guide,
# "Restrictions on Lambda@Edge"): container images, EFS, layers, VPC, SnapStart, environment.
LAMBDA_EDGE_UNSUPPORTED_INPUTS = (
    "environment",
    "fileSystemConfig",
    "imageConfig",
    "imageUri",
    "layers",
    "snapStart",
    "vpcConfig",
)
PROVISIONED_CONCURRENCY = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"

# CloudFront: a distribution's and an origin access identity's comment.
MAX_COMMENT_LENGTH = 128
# Tags (IAM, S3, CloudFront, Lambda, CloudWatch Logs alike).
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
TAG_TEXT = re.compile(r"[\w .:/=+\-@]*")
# Names.
MAX_LAMBDA_FUNCTION_NAME = 64
MAX_IAM_ROLE_NAME = 64
MAX_IAM_INLINE_POLICY_NAME = 128


def tag_problems(tags: dict) -> list[str]:
    """What AWS would refuse in a resource's tags."""
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append(f"{len(tags)} tags")
    lowered = [key.lower() for key in tags]
    if len(set(lowered)) != len(lowered):
        problems.append("keys equal but for case")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or not TAG_TEXT.fullmatch(key):
            problems.append(f"key {key!r}")
        if key.lower().startswith("aws:"):
            problems.append(f"reserved key {key!r}")
        if len(value) > MAX_TAG_VALUE or not TAG_TEXT.fullmatch(value):
            problems.append(f"value {value!r}")
    return problems


# Who CloudFront signs as, and who a bucket policy lets read: ("oai", OAI IAM ARN) or ("oac",
# distribution ARN). CloudFront developer guide, "Restrict access to an Amazon S3 origin": an OAI is
# granted as the AWS principal of its IAM ARN; OAC as the cloudfront.amazonaws.com service on
# condition AWS:SourceArn = the distribution (StringEquals, one distribution, never a wildcard).
CLOUDFRONT_SERVICE_PRINCIPAL = {"Service": "cloudfront.amazonaws.com"}


def signing_identities(distribution_inputs: dict, distribution_arn: str, oais: dict) -> set:
    """The identities a distribution signs its S3 origin requests with (``oais``: origin access
    identity path → IAM ARN)."""
    identities = set()
    for origin in distribution_inputs["origins"]:
        if origin.get("originAccessControlId"):
            identities.add(("oac", distribution_arn))
        else:
            identities.add(("oai", oais[origin["s3OriginConfig"]["originAccessIdentity"]]))
    return identities


def granted_identity(statement: dict) -> tuple[str, str]:
    """Whom an Allow statement of a bucket policy lets in."""
    if statement["Principal"] == CLOUDFRONT_SERVICE_PRINCIPAL:
        (condition,) = statement["Condition"].items()
        assert condition[0] == "StringEquals", "OAC is granted per distribution, exactly"
        (key, arn), *others = condition[1].items()
        assert key == "AWS:SourceArn" and not others and "*" not in arn
        return ("oac", arn)
    assert "Condition" not in statement
    return ("oai", statement["Principal"]["AWS"])


# CloudFront Functions: "Quotas on CloudFront Functions" (function size 10 KB), "JavaScript
# runtime 2.0 features" and "Restrictions on CloudFront Functions" (no dynamic code evaluation, no
# network, file system or timers); origin modification needs runtime 2.0 and the cloudfront module
# imported on the first line, and works at viewer-request only ("Helper methods for origin
# modification").
CLOUDFRONT_FUNCTION_RUNTIME = "cloudfront-js-2.0"
CLOUDFRONT_FUNCTION_MAX_BYTES = 10 * 1024
ORIGIN_MODIFICATION_EVENT = "viewer-request"
CLOUDFRONT_MODULE_FIRST_LINE = "import cf from 'cloudfront';"
RESTRICTED_JS = re.compile(
    r"\b(eval|Function|require|fetch|XMLHttpRequest|setTimeout|setInterval|setImmediate|"
    r"process|WebSocket)\s*\("
)
ASYNC_CLOSURE = re.compile(r"\basync\s*(\(|[A-Za-z_$][\w$]*\s*=>)|[=(,:]\s*async\s+function\b")
# CloudFront developer guide, "Quotas": "Origins per distribution — 100" (older copies said 25;
# adjustable on request).
DEFAULT_MAX_ORIGINS_PER_DISTRIBUTION = 100


def cloudfront_function_code_problems(code: str) -> list[str]:
    """What CloudFront Functions would refuse, or cannot run, in ``code``."""
    problems = []
    if len(code.encode("utf-8")) > CLOUDFRONT_FUNCTION_MAX_BYTES:
        problems.append(f"{len(code.encode('utf-8'))} bytes")
    if code.splitlines()[0] != CLOUDFRONT_MODULE_FIRST_LINE:
        problems.append("the cloudfront module is not imported on the first line")
    # The handler may be async: CloudFront developer guide, "Use async and await" ("JavaScript
    # runtime functions 2.0 provide async and await syntax ... async function handler(event)"),
    # and "JavaScript runtime 2.0 features"; the key value store helpers return promises ("Helper
    # methods for key value stores").
    if not re.search(r"^(async )?function handler\(event\)", code, re.MULTILINE):
        problems.append("no top-level handler(event)")
    # Same page: "async arguments and closures are not supported": async arrows and async
    # function expressions.
    if ASYNC_CLOSURE.search(code):
        problems.append("an async closure")
    problems += [f"restricted: {match.group(1)}" for match in RESTRICTED_JS.finditer(code)]
    if re.search(r"^\s*(export|import)\b", "\n".join(code.splitlines()[1:]), re.MULTILINE):
        problems.append("modules other than cloudfront")
    return problems


# CloudWatch PutMetricAlarm: standard-resolution periods are multiples of 60 s; a period times the
# evaluation periods may not exceed a day; the statistics and missing-data treatments it knows.
ALARM_STATISTICS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
ALARM_MISSING_DATA = {"breaching", "notBreaching", "ignore", "missing"}
ALARM_COMPARISONS = {
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
}


def alarm_problems(inputs: dict) -> list[str]:
    """What CloudWatch would refuse in a metric alarm's inputs."""
    problems = []
    period, periods = inputs["period"], inputs["evaluationPeriods"]
    if period % 60 or period <= 0:
        problems.append(f"period {period}")
    if periods < 1 or period * periods > 86_400:
        problems.append(f"{periods} periods of {period} s")
    if inputs["statistic"] not in ALARM_STATISTICS:
        problems.append(f"statistic {inputs['statistic']}")
    if inputs.get("treatMissingData", "missing") not in ALARM_MISSING_DATA:
        problems.append(f"missing data {inputs['treatMissingData']}")
    # PutMetricAlarm, TreatMissingData: "Alarms that evaluate metrics in the AWS/DynamoDB namespace
    # always ignore missing data even if you choose a different option": an alarm that says
    # otherwise promises what CloudWatch will not do.
    if inputs.get("namespace") == "AWS/DynamoDB" and inputs.get("treatMissingData") != "ignore":
        problems.append(f"missing data {inputs.get('treatMissingData')} on an AWS/DynamoDB metric")
    if inputs["comparisonOperator"] not in ALARM_COMPARISONS:
        problems.append(f"comparison {inputs['comparisonOperator']}")
    if not inputs.get("dimensions"):
        problems.append("no dimensions")
    return problems


# S3 API reference, Metrics: "EventThreshold ... Required: No"; ReplicationTime: "Must be specified
# together with a Metrics block"; ReplicationTimeValue: "Minutes ... Valid value: 15". S3 refuses an
# event threshold without RTC: "Metrics cannot contain an event threshold when ReplicationTime is
# not specified or Disabled" (pulumi/pulumi-aws#5806; the S3 user guide: replication metrics "can
# also be enabled independently of S3 RTC").
REPLICATION_TIME_MINUTES = 15


def replication_destination_problems(destination: dict) -> list[str]:
    """What S3 would refuse in a replication rule's destination."""
    problems = []
    rtc = destination.get("replicationTime")
    metrics = destination.get("metrics")
    rtc_on = bool(rtc) and rtc.get("status") == "Enabled"
    if rtc and rtc.get("time", {}).get("minutes") != REPLICATION_TIME_MINUTES:
        problems.append(f"replicationTime {rtc}")
    if rtc_on and not (metrics and metrics.get("status") == "Enabled"):
        problems.append("Replication Time Control without metrics")
    # The user guide's only RTC example sets both, and "Metrics:EventThreshold:Minutes and
    # ReplicationTime:Time:Minutes can only have 15 as a valid value": the conservative reading.
    if rtc_on and metrics and "eventThreshold" not in metrics:
        problems.append("Replication Time Control without an event threshold")
    if metrics and "eventThreshold" in metrics:
        if not rtc_on:
            problems.append("an event threshold without Replication Time Control")
        elif metrics["eventThreshold"].get("minutes") != REPLICATION_TIME_MINUTES:
            problems.append(f"event threshold {metrics['eventThreshold']}")
    return problems


# CloudWatch API reference, "Dashboard Body Structure and Syntax": "an array of between 0 and 500
# widget objects"; "One metrics array can include 0-500 metrics and expressions"; an alarm status
# widget's alarms: "The array can have 1-100 ARNs". CloudWatch quotas (archived copy): "Up to 2500
# metrics per dashboard, across all widgets". PutDashboard: names of at most 255 of A-Z, a-z, 0-9,
# "-" and "_".
MAX_DASHBOARD_WIDGETS = 500
MAX_METRICS_PER_WIDGET = 500
MAX_ALARMS_PER_ALARM_WIDGET = 100
MAX_METRICS_PER_DASHBOARD = 2500
DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def dashboard_problems(body: dict) -> list[str]:
    """What CloudWatch would refuse in a dashboard body."""
    widgets = body["widgets"]
    problems = []
    if len(widgets) > MAX_DASHBOARD_WIDGETS:
        problems.append(f"{len(widgets)} widgets")
    metrics = 0
    for widget in widgets:
        properties = widget["properties"]
        if widget["type"] == "alarm":
            if not 1 <= len(properties["alarms"]) <= MAX_ALARMS_PER_ALARM_WIDGET:
                problems.append(f"an alarm widget of {len(properties['alarms'])} alarms")
        else:
            count = len(properties.get("metrics", []))
            metrics += count
            if count > MAX_METRICS_PER_WIDGET:
                problems.append(f"a widget of {count} metrics")
    if metrics > MAX_METRICS_PER_DASHBOARD:
        problems.append(f"{metrics} metrics on one dashboard")
    return problems


# DynamoDB developer guide, "Supported data types and naming rules in Amazon DynamoDB": "Table names
# and index names must be between 3 and 255 characters long, and can contain only the following
# characters: a-z, A-Z, 0-9, _ (underscore), - (dash), . (dot)".
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# Lambda API reference, CreateFunction, FunctionName: letters, digits, hyphens and underscores, at
# most 64 characters for a name.
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_valid_table_name(name: str) -> bool:
    return bool(TABLE_NAME.match(name))


def is_valid_function_name(name: str) -> bool:
    return bool(FUNCTION_NAME.match(name))


# A global table replicates through DynamoDB Streams with both images: "DynamoDB Streams is enabled
# by default on all replicas in an MREC global table and cannot be disabled on those replicas" (AWS
# Prescriptive Guidance, "DynamoDB global tables", FAQ); "The table must have DynamoDB Streams
# enabled, with the stream containing both the new and the old images of the item" (DynamoDB API
# reference, CreateGlobalTable, for replicas of version 2017.11.29);
# CloudFormation's AWS::DynamoDB::GlobalTable StreamSpecification, for the current version: "You
# must specify a value for this property ... configured for MREC with more than one entry in
# Replicas". A replica per Region: "Each global table can have only one replica per AWS Region"
# (DynamoDB developer guide, "How DynamoDB global tables work").
GLOBAL_TABLE_STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


def global_table_problems(inputs: dict, home_region: str) -> list[str]:
    """What DynamoDB would refuse, or replicate wrongly, in a table with replicas."""
    replicas = [replica["regionName"] for replica in inputs.get("replicas", [])]
    problems = []
    if replicas and not (
        inputs.get("streamEnabled") is True
        and inputs.get("streamViewType") == GLOBAL_TABLE_STREAM_VIEW_TYPE
    ):
        problems.append("replicas without a NEW_AND_OLD_IMAGES stream")
    if len(set(replicas)) != len(replicas) or home_region in replicas:
        problems.append(f"more than one replica in a Region: {home_region} and {replicas}")
    if not is_valid_table_name(inputs.get("name", "")):
        problems.append(f"table name {inputs.get('name')!r}")
    return problems


# CloudFront developer guide, "Quotas", Quotas on key value stores: "Maximum size of a key in a
# key-value pair: 512 Bytes", "Maximum size of the value in a key-value pair: 1 KB", "Maximum number
# of key value stores per function: 1". (KB: 1,024 bytes, as the key value store file format page
# puts it: "Value size - 1024 characters".)
MAX_KVS_KEY_BYTES = 512
MAX_KVS_VALUE_BYTES = 1024
MAX_KVS_PER_FUNCTION = 1


def kvs_pair_problems(key: str, value: str) -> list[str]:
    problems = []
    if not 1 <= len(key.encode("utf-8")) <= MAX_KVS_KEY_BYTES:
        problems.append(f"key of {len(key.encode('utf-8'))} bytes")
    if len(value.encode("utf-8")) > MAX_KVS_VALUE_BYTES:
        problems.append(f"value of {len(value.encode('utf-8'))} bytes")
    return problems


# EventBridge Scheduler user guide, "Schedule types in EventBridge Scheduler": "rate(value unit)",
# value "A positive number", unit "minutes | hours | days" (the API's ScheduleExpression also takes
# the singular: "minute | minutes | hour | hours | day | days"); "All schedule types on EventBridge
# Scheduler invoke their targets with 60 second precision". API reference, FlexibleTimeWindow: Mode
# "OFF | FLEXIBLE", required; MaximumWindowInMinutes 1-1440. RetryPolicy: MaximumEventAgeInSeconds
# 60-86400, MaximumRetryAttempts 0-185.
RATE_EXPRESSION = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
FLEXIBLE_WINDOW_MODES = {"OFF", "FLEXIBLE"}


def schedule_problems(inputs: dict) -> list[str]:
    """What EventBridge Scheduler would refuse in a rate-based schedule."""
    problems = []
    rate = RATE_EXPRESSION.match(inputs["scheduleExpression"])
    if not rate or int(rate.group(1)) < 1:
        problems.append(f"expression {inputs['scheduleExpression']!r}")
    elif (rate.group(1) == "1") != (rate.group(2) in ("minute", "hour", "day")):
        problems.append(
            f"{inputs['scheduleExpression']!r}: 1 takes the singular unit, more the plural"
        )
    window = inputs["flexibleTimeWindow"]
    if window.get("mode") not in FLEXIBLE_WINDOW_MODES:
        problems.append(f"window mode {window.get('mode')!r}")
    if (
        window.get("mode") == "FLEXIBLE"
        and not 1 <= window.get("maximumWindowInMinutes", 0) <= 1440
    ):
        problems.append("a flexible window without 1-1440 minutes")
    retry = inputs["target"].get("retryPolicy", {})
    if not 60 <= retry.get("maximumEventAgeInSeconds", 86400) <= 86400:
        problems.append(f"event age {retry.get('maximumEventAgeInSeconds')}")
    if not 0 <= retry.get("maximumRetryAttempts", 185) <= 185:
        problems.append(f"retry attempts {retry.get('maximumRetryAttempts')}")
    return problems


# Lambda developer guide, "Lambda quotas": "Function timeout: 900 seconds (15 minutes)"; "Function
# environment variables: 4 KB, for all environment variables associated with the function, in
# aggregate" (KB = 1,024 bytes in the Lambda documentation). How the aggregate is counted is not
# said; keys and values, in UTF-8, are counted here, and a test of the program counts its JSON.
MAX_LAMBDA_TIMEOUT_SECONDS = 900
MAX_LAMBDA_ENVIRONMENT_BYTES = 4096


def lambda_environment_bytes(variables: dict) -> int:
    return sum(
        len(key.encode("utf-8")) + len(value.encode("utf-8")) for key, value in variables.items()
    )


# AWS WAF for CloudFront. API reference, CreateWebACL, Scope: "To work with CloudFront, you must
# also specify the Region US East (N. Virginia)", valid values CLOUDFRONT | REGIONAL. CloudFront API
# reference, DistributionConfig.WebACLId: "To specify a web ACL created using the latest version of
# WAF, use the ACL ARN, for example
# arn:aws:wafv2:us-east-1:123456789012:global/webacl/ExampleWebACL/<id>".
WAF_CLOUDFRONT_SCOPE = "CLOUDFRONT"
WAF_CLOUDFRONT_REGION = "us-east-1"
GLOBAL_WEB_ACL_ARN = re.compile(
    r"^arn:aws:wafv2:us-east-1:[0-9]{12}:global/webacl/[A-Za-z0-9_-]{1,128}/[0-9a-f-]{36}\Z"
)
# AWS WAF developer guide, "Baseline rule groups": "VendorName: AWS, Name:
# AWSManagedRulesCommonRuleSet, WCU: 700"; "VendorName: AWS, Name:
# AWSManagedRulesKnownBadInputsRuleSet, WCU: 200". "IP reputation rule groups": "VendorName: AWS,
# Name: AWSManagedRulesAmazonIpReputationList, WCU: 25".
AWS_MANAGED_RULE_GROUP_WCU = {
    "AWSManagedRulesCommonRuleSet": 700,
    "AWSManagedRulesKnownBadInputsRuleSet": 200,
    "AWSManagedRulesAmazonIpReputationList": 25,
}
# "Rate-based rule high-level settings in AWS WAF": "The lowest limit setting allowed is 10";
# evaluation windows "60 (1 minute), 120 (2 minutes), 300 (5 minutes), and 600 (10 minutes)".
# API reference, RateBasedStatement, Limit: "Minimum value of 10. Maximum value of 2000000000."
RATE_LIMIT_RANGE = range(10, 2_000_000_001)
RATE_EVALUATION_WINDOWS = {60, 120, 300, 600}
# API reference, VisibilityConfig.MetricName: "only the characters: A-Z, a-z, 0-9, - (hyphen), and _
# (underscore)", "from one to 128 characters long", not the reserved "All" and "Default_Action".
WAF_METRIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
WAF_RESERVED_METRIC_NAMES = {"All", "Default_Action"}


def web_acl_problems(inputs: dict) -> list[str]:
    """What AWS WAF would refuse, or CloudFront could not use, in a web ACL's inputs."""
    problems = []
    if inputs.get("scope") != WAF_CLOUDFRONT_SCOPE:
        problems.append(f"scope {inputs.get('scope')}")
    if inputs.get("region") != WAF_CLOUDFRONT_REGION:
        problems.append(f"in {inputs.get('region')}, not us-east-1")
    visibilities = [inputs["visibilityConfig"], *(r["visibilityConfig"] for r in inputs["rules"])]
    for visibility in visibilities:
        name = visibility["metricName"]
        if not WAF_METRIC_NAME.match(name) or name in WAF_RESERVED_METRIC_NAMES:
            problems.append(f"metric name {name!r}")
    priorities = [rule["priority"] for rule in inputs["rules"]]
    if len(set(priorities)) != len(priorities):
        problems.append(f"priorities {priorities}")
    for rule in inputs["rules"]:
        statement = rule["statement"]
        managed = statement.get("managedRuleGroupStatement")
        # "You must set either this Action setting or the rule's OverrideAction, but not both"
        # (CloudFormation, AWS::WAFv2::WebACL Rule): a rule group takes the override action.
        if managed and ("action" in rule or "overrideAction" not in rule):
            problems.append(f"{rule['name']}: a rule group needs overrideAction and no action")
        if not managed and ("overrideAction" in rule or "action" not in rule):
            problems.append(f"{rule['name']}: a rule needs action and no overrideAction")
        rate = statement.get("rateBasedStatement")
        if rate and int(rate["limit"]) not in RATE_LIMIT_RANGE:
            problems.append(f"rate limit {rate['limit']}")
        if rate and rate.get("evaluationWindowSec", 300) not in RATE_EVALUATION_WINDOWS:
            problems.append(f"evaluation window {rate['evaluationWindowSec']}")
    return problems


# S3 Batch Replication. S3 user guide, "Configuring an IAM role for S3 Batch Replication": the
# role trusts {"Service": "batchoperations.s3.amazonaws.com"}; "Policy if using and storing an
# Amazon S3 generated manifest" allows s3:InitiateReplication on the source bucket's objects,
# s3:GetReplicationConfiguration and s3:PutInventoryConfiguration on the source bucket,
# s3:GetObject and s3:GetObjectVersion on the manifest bucket's objects, and s3:PutObject on the
# completion report bucket's and the manifest bucket's objects. "Replicating existing objects with
# Batch Replication": the generated manifest "must be stored in the same AWS Region as the source
# bucket".
BATCH_OPERATIONS_PRINCIPAL = {"Service": "batchoperations.s3.amazonaws.com"}
BATCH_REPLICATION_ACTIONS = {
    "s3:InitiateReplication": "source objects",
    "s3:GetReplicationConfiguration": "source buckets",
    "s3:PutInventoryConfiguration": "source buckets",
    "s3:GetObject": "batch objects",
    "s3:GetObjectVersion": "batch objects",
    "s3:PutObject": "batch objects",
}


def batch_replication_policy_problems(
    policy: dict, source_buckets: list[str], batch_buckets: list[str]
) -> list[str]:
    """Where a Batch Replication role's policy allows more than the S3 user guide lists, or on
    other buckets than the stack's origins (sources) and batch buckets (manifests, reports)."""
    allowed = {
        "source objects": {f"arn:aws:s3:::{b}/*" for b in source_buckets},
        "source buckets": {f"arn:aws:s3:::{b}" for b in source_buckets},
        "batch objects": {f"arn:aws:s3:::{b}/*" for b in batch_buckets},
    }
    problems = []
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        for action in statement["Action"]:
            kind = BATCH_REPLICATION_ACTIONS.get(action)
            if kind is None:
                problems.append(f"{action} is not one Batch Replication needs")
                continue
            extra = set(statement["Resource"]) - allowed[kind]
            if extra:
                problems.append(f"{action} on {sorted(extra)}")
    return problems


# The services whose documentation shows their roles' trust policies without aws:SourceAccount or
# aws:SourceArn, and documents no such key in the request when they assume the role: Lambda
# ("Defining Lambda function permissions with an execution role"), Lambda@Edge ("Set up IAM
# permissions and roles for Lambda@Edge"), S3 replication ("Setting up permissions for live
# replication") and S3 Batch Operations ("Configuring an IAM role for S3 Batch Replication"). A
# condition on a key the service does not send refuses the AssumeRole. EventBridge Scheduler
# documents both ("Confused deputy prevention"), so its role may carry them.
SERVICES_WITHOUT_SOURCE_KEYS = {
    "lambda.amazonaws.com",
    "edgelambda.amazonaws.com",
    "s3.amazonaws.com",
    "batchoperations.s3.amazonaws.com",
}
SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn"}


def trust_policy_problems(document: dict) -> list[str]:
    """A trust policy statement that lets one of SERVICES_WITHOUT_SOURCE_KEYS assume the role only
    on a condition over aws:SourceAccount or aws:SourceArn, which that service is not documented
    to send."""
    problems = []
    for statement in document.get("Statement", []):
        services = statement.get("Principal", {}).get("Service", [])
        services = {services} if isinstance(services, str) else set(services)
        keys = {
            key.lower() for operator in statement.get("Condition", {}).values() for key in operator
        }
        for service in sorted(services & SERVICES_WITHOUT_SOURCE_KEYS):
            problems += [f"{service} on {key}" for key in sorted(keys & SOURCE_KEYS)]
    return problems
