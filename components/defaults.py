"""CloudFront values the components default to and settings validates against (no Pulumi import)."""

# Status codes an origin group can fail over on (CloudFront API, OriginGroupFailoverCriteria).
FAILOVER_STATUS_CODES_ALLOWED = (400, 403, 404, 416, 500, 502, 503, 504)
# 403 and 404 also cover objects a Region has not received yet (replication lag).
DEFAULT_FAILOVER_STATUS_CODES = (403, 404, 500, 502, 503, 504)
PRICE_CLASSES = ("PriceClass_All", "PriceClass_200", "PriceClass_100")
DEFAULT_PRICE_CLASS = "PriceClass_All"
