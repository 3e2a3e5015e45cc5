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
# timeouts and attempts).
# Opening a TCP+TLS connection to S3 in the same cloud takes milliseconds, so 2 s per attempt leaves
# room for a retransmitted SYN, and two attempts bound the wait before failover to 4 s. Too short a
# timeout only costs an early failover to the next-nearest bucket, never an error.
CONNECTION_ATTEMPTS_RANGE = (1, 3)
CONNECTION_TIMEOUT_RANGE = (1, 10)
DEFAULT_CONNECTION_ATTEMPTS = 2
DEFAULT_CONNECTION_TIMEOUT_SECONDS = 2
