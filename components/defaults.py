"""CloudFront and Lambda@Edge values the components default to, settings validates against and
``./dev plan`` prices. No Pulumi import, so that the settings and the local tools stay light."""

# Status codes an origin group can fail over on: "any combination of the following status codes:
# 400, 403, 404, 416, 429, 500, 502, 503, or 504" (CloudFront developer guide, "Optimize high
# availability with CloudFront origin failover"; 429 is in the current page, not in older copies).
FAILOVER_STATUS_CODES_ALLOWED = (400, 403, 404, 416, 429, 500, 502, 503, 504)
# The same page: CloudFront fails over when it "fails to connect to the primary origin (when 503 is
# set as a failover code)" and when the response "takes too long (times out) (when 504 is set as a
# failover code)". Without them a dead or stalled Region is an error, not a failover.
FAILOVER_STATUS_CODES_REQUIRED = (503, 504)
# 403 and 404 also cover objects a Region has not received yet (replication lag).
DEFAULT_FAILOVER_STATUS_CODES = (403, 404, 500, 502, 503, 504)
# How long CloudFront waits for an S3 origin's response, and again after each attempt: "If the
# origin doesn't respond within 30 seconds or stops responding for 30 seconds, CloudFront drops the
# connection. If the specified number of origin connection attempts is more than 1, CloudFront
# tries again to get a complete response" (GET and HEAD; CloudFront developer guide, "Request and
# response behavior for Amazon S3 origins"). The API has taken S3OriginConfig.OriginReadTimeout
# since July 2025, but pulumi-aws 7's S3 origin config has no such input, so it stays 30 s here.
S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS = 30
# The methods the distribution allows and caches: GET and HEAD. An origin group fails over only for
# GET, HEAD and OPTIONS, and "CloudFront will not failover if OPTIONS are not set as a Cached HTTP
# methods in your cache behavior" (CloudFront developer guide, "Optimize high availability with
# CloudFront origin failover"), so an allowed but uncached OPTIONS would be the one request a sick
# Region fails. Caching OPTIONS instead would serve one site's CORS preflight to another
# (CachingOptimized keys on the path, not on Origin), and the buckets have no CORS configuration,
# so S3 answers every OPTIONS with a 403 anyway. CloudFront answers any other method with a 403.
READ_METHODS = ("GET", "HEAD")
PRICE_CLASSES = ("PriceClass_All", "PriceClass_200", "PriceClass_100")
DEFAULT_PRICE_CLASS = "PriceClass_All"

# How long CloudFront tries to reach an origin before it fails over: attempts x timeout. Its own
# defaults are 3 x 10 s, so an unreachable Region would hold every cache miss for 30 s (CloudFront
# developer guide, "Optimize high availability with CloudFront origin failover", Controlling origin
# timeouts and attempts). A TCP connection from a Regional edge cache to S3 opens within one
# round trip, a few to a few hundred milliseconds even across continents, so 1 s per attempt is
# ample; three attempts (each a fresh SYN) ride out a lost packet, and the wait before failover
# stays at 3 s, under the 4 s this project promises. Too short a timeout only costs an early
# failover to the next-nearest bucket, never an error.
CONNECTION_ATTEMPTS_RANGE = (1, 3)
CONNECTION_TIMEOUT_RANGE = (1, 10)
DEFAULT_CONNECTION_ATTEMPTS = 3
DEFAULT_CONNECTION_TIMEOUT_SECONDS = 1

# The values CloudWatch Logs accepts as a retention (PutRetentionPolicy, retentionInDays).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip
DEFAULT_LOG_RETENTION_DAYS = 30

# Versioned buckets keep every overwritten or deleted version until a lifecycle rule expires it.
DEFAULT_NONCURRENT_VERSION_DAYS = 30
# Uploads that never completed still cost storage; S3 aborts them after this many days.
ABORT_INCOMPLETE_UPLOAD_DAYS = 7

# The Lambda@Edge function: CloudFront takes Lambda@Edge functions from us-east-1 only, whatever the
# stack's aws:region ("Restrictions on Lambda@Edge"). Its memory is also what ./dev plan prices.
LAMBDA_EDGE_REGION = "us-east-1"
EDGE_FUNCTION_RUNTIME = "python3.13"
# Origin-request functions may take up to 30 s; this one answers in microseconds, so 5 s is generous
# and a hung replica fails fast into the origin group's failover instead of holding the viewer.
EDGE_FUNCTION_TIMEOUT_SECONDS = 5
EDGE_FUNCTION_MEMORY_MB = 128

# The AWS managed response headers policy "SecurityHeadersPolicy" (HSTS, X-Content-Type-Options,
# X-Frame-Options, Referrer-Policy, X-XSS-Protection): CloudFront developer guide, "Use managed
# response headers policies".
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"

# Alarms: a sustained 5xx rate above this percentage; function errors, throttles and failed
# replications summed over the evaluation window, alarming at this count.
DEFAULT_ALARM_ERROR_RATE_PERCENT = 5.0
DEFAULT_ALARM_EVALUATION_MINUTES = 5
DEFAULT_ALARM_ERROR_COUNT = 1
# Access logs kept this many days in the log bucket.
DEFAULT_ACCESS_LOG_DAYS = 90

# Evacuation: each vantage Region probes every origin every 20 s (three rounds in a scheduled
# minute; EventBridge Scheduler's finest rate is one minute). Three failures in a row, seen by two
# vantage Regions, take an origin out: 40-60 s of failure plus the probe's own time-outs, so a
# Region is out within about 65 s, inside the 2 minutes promised, with room for the state to reach
# the edges.
# Six good probes in a row bring it back: two minutes of health, so a Region that flaps stays out
# rather than taking traffic every other minute.
DEFAULT_EVACUATION_FAILURES = 3
DEFAULT_EVACUATION_RECOVERIES = 6
EVACUATION_FAILURES_RANGE = (1, 10)
EVACUATION_RECOVERIES_RANGE = (1, 60)
EVACUATION_PROBE_SECONDS = 20
EVACUATION_ROUNDS = 3
# How many vantage Regions must agree: two, so that no single one evacuates on its own view.
EVACUATION_QUORUM = 2
# Three continents: any two still agree while the third (or its Region's own origin) is down.
DEFAULT_EVACUATION_VANTAGES = ("us-east-1", "eu-west-1", "ap-northeast-1")
# The probe's read timeout: a stall shows as a failure within seconds, not S3's 30.
EVACUATION_READ_TIMEOUT_SECONDS = 5
# The evacuator's function in each vantage Region: EventBridge Scheduler's finest rate is one
# minute ("rate(value unit)", value a positive integer; EventBridge Scheduler user guide, "Schedule
# types in EventBridge Scheduler"), and each invocation runs EVACUATION_ROUNDS rounds
# EVACUATION_PROBE_SECONDS apart. Its timeout covers the rounds (two 20 s waits and the last round's
# probe, at most a 10 s connection and a 5 s read) and stays under the minute, so a vantage's
# invocations never overlap. 128 MB: it waits on the network, and memory buys nothing.
EVACUATOR_RUNTIME = "python3.13"
EVACUATOR_HANDLER = "evacuation.lambda_function.handler"
EVACUATOR_MEMORY_MB = 128
EVACUATOR_TIMEOUT_SECONDS = 58
EVACUATOR_SCHEDULE = "rate(1 minute)"
# The routing state table's home Region, whatever the engine and the vantage Regions: where it is
# created and Pulumi writes its item; every other Region holding it is a replica. A table's Region
# cannot change in place, and a table replaced loses the evacuator's state, so it never changes: an
# engine switch or new vantage Regions add and remove replicas only. us-east-1, where Lambda@Edge
# functions are created and CloudFront's metrics and the default vantage Regions begin.
STATE_TABLE_HOME_REGION = "us-east-1"
# A web ACL in front of the distribution (webAcl). A web ACL for CloudFront has scope CLOUDFRONT and
# lives in us-east-1 ("To work with CloudFront, you must also specify the Region US East (N.
# Virginia)", AWS WAF API reference, Scope), and its metrics are there too (AWS WAF developer
# guide, "Monitoring with Amazon CloudWatch": "For CloudFront, choose the US East (N. Virginia)
# Region"); CloudFront takes its ARN as the distribution's WebACLId (CloudFront API reference,
# DistributionConfig.WebACLId).
WAF_SCOPE = "CLOUDFRONT"
WAF_REGION = "us-east-1"
# The rate-based rule's limit, requests per client IP in its evaluation window (5 minutes, AWS
# WAF's default): "The lowest limit setting allowed is 10" (AWS WAF developer guide, "Rate-based
# rule high-level settings in AWS WAF"); at most 2,000,000,000 (AWS WAF API reference,
# RateBasedStatement, Limit: "Minimum value of 10. Maximum value of 2000000000").
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)
WAF_RATE_WINDOW_SECONDS = 300
# 2,000 requests per 5 minutes is 6.7 a second from one address, sustained: far above what a person
# browsing a static site asks for (assets come from the edge cache, not one request each time), low
# enough to cut a single-address flood. Behind a large NAT many people share one address: raise it.
DEFAULT_WAF_RATE_LIMIT = 2000
# AWS managed rule groups of webAcl: managed, by their exact names ("Baseline rule groups": Core
# rule set, VendorName AWS, Name AWSManagedRulesCommonRuleSet, WCU 700; Known bad inputs,
# AWSManagedRulesKnownBadInputsRuleSet, WCU 200. "IP reputation rule groups": Amazon IP reputation
# list, AWSManagedRulesAmazonIpReputationList, WCU 25). None of them carries a fee of its own (only
# Bot Control, ATP and ACFP do: API reference, ManagedRuleGroupStatement). The three use 925 WCU;
# with the rate-based rule the web ACL stays well under 1,500, above which AWS WAF charges extra per
# request (AWS What's New, 2023-04-11, "AWS WAF increases web ACL capacity units limit").
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)

# S3 Batch Replication (./dev backfill): the generated manifests and completion reports stay this
# many days in the batch bucket of their Region, then S3 expires them.
BATCH_REPORT_DAYS = 30
