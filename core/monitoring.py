"""Logs and alarms: what CloudWatch accepts and what this project defaults to."""

# The values CloudWatch Logs accepts as a retention (PutRetentionPolicy, retentionInDays).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip
DEFAULT_LOG_RETENTION_DAYS = 30

# Alarms: a sustained 5xx rate above this percentage; function errors, throttles and failed
# replications summed over the evaluation window, alarming at this count.
DEFAULT_ALARM_ERROR_RATE_PERCENT = 5.0
DEFAULT_ALARM_EVALUATION_MINUTES = 5
DEFAULT_ALARM_ERROR_COUNT = 1
# Access logs kept this many days in the log bucket.
DEFAULT_ACCESS_LOG_DAYS = 90
# The formats offered for CloudFront's standard logging (v2) to Amazon S3, as CloudWatch's log
# delivery names them (PutDeliveryDestination outputFormat). AWS lists "JSON, Plain, w3c, Raw,
# Parquet (Amazon S3 only)" (CloudFront developer guide, "Configure standard logging (v2)", Output
# file format, the page below): Raw is not said to be refused for S3. It is left out by choice:
# the AWS CDK's CloudFront access-log delivery types (CfnDistributionAccessLogsOutputFormat) offer
# raw for Firehose only (json, plain, w3c, parquet for S3), nothing here has tried raw against
# AWS, and a format AWS refused would stop `pulumi up` halfway. Only Parquet costs anything beyond
# S3: "There are no additional charges for log delivery to Amazon S3 ... If you enable the Parquet
# option to convert your access logs to Apache Parquet, this option incurs CloudWatch charges"
# (CloudFront developer guide, "Configure standard logging (v2)", Pricing,
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html). The
# default is free: w3c, the fields and layout of CloudFront's standard (legacy) log files.
ACCESS_LOG_FORMATS = ("w3c", "json", "plain", "parquet")
ACCESS_LOG_FORMATS_CHARGED = frozenset({"parquet"})
DEFAULT_ACCESS_LOG_FORMAT = "w3c"
# The health-object alarm: unreadable probes of one origin within the alarm's window that raise it,
# about two minutes of one vantage Region's probes (one every 10 s), so that a single odd answer
# does not page anyone and an object that stays unreadable does, whatever vantage sees it.
HEALTH_OBJECT_ALARM_PROBES = 12
# The evacuator's alarms, by name: an origin's unreadable health object, and the checks held.
CHECKS_HELD_ALARM = "checks-held"


def health_object_alarm_name(origin: str) -> str:
    return f"health-object-{origin}"
