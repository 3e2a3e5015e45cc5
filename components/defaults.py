"""CloudFront values the components default to and settings validates against (no Pulumi import)."""

# Status codes an origin group can fail over on (CloudFront API, OriginGroupFailoverCriteria).
FAILOVER_STATUS_CODES_ALLOWED = (400, 403, 404, 416, 500, 502, 503, 504)
# 403 and 404 also cover objects a Region has not received yet (replication lag).
DEFAULT_FAILOVER_STATUS_CODES = (403, 404, 500, 502, 503, 504)
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
