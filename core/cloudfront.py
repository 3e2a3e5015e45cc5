"""CloudFront and Lambda@Edge values: what CloudFront accepts, what this project defaults to, and
the routing function's own settings. The components, the settings and ``./dev plan`` share them."""

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
# since July 2025 ("the default (if you don't specify otherwise) is 30 seconds", CloudFront API
# reference, S3OriginConfig, https://docs.aws.amazon.com/cloudfront/latest/APIReference/
# API_S3OriginConfig.html), but pulumi-aws 7's S3 origin config has no such input (an origin with
# origin access control declares none at all), so it stays 30 s here.
S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS = 30
# The whole wait for an origin's complete response, every attempt included: "The time (in seconds)
# that a request from CloudFront to the origin can stay open and wait for a response. If the
# complete response isn't received from the origin by this time, CloudFront ends the connection.
# The value for ResponseCompletionTimeout must be equal to or greater than the value for
# OriginReadTimeout. If you don't set a value for ResponseCompletionTimeout, CloudFront doesn't
# enforce a maximum value" (CloudFront API reference, Origin,
# https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_Origin.html; developer guide,
# "Origin settings", Response completion timeout,
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html;
# "across all packets and retries", and for S3 origins, in the announcement of July 30, 2025,
# "Amazon CloudFront introduces new origin response timeout controls").
# None by default (CloudFront's own), the conservative choice where the docs leave a point open.
# AWS says only that CloudFront "ends the connection" at this timeout, and the failover guide
# ("Optimize high availability with CloudFront origin failover") lists a response that "takes too
# long (times out)" without naming which timeouts count: no page says a failover follows, so the
# conservative reading is that the viewer gets CloudFront's error for that miss (the sandbox plays
# it so). And it counts the whole response, so it also ends a complete response that streams
# steadily but takes longer to arrive (a large object). Set (`originResponseCompletionTimeout`),
# it bounds how long a Region that accepts connections and answers nothing holds each miss
# (without it: connection attempts x S3's 30 s response timeout, then failover), at the price of
# that miss's failover, which AWS does not document, and of every download slower than it: size it
# above the largest object's transfer time. 0 enforces none (pulumi-aws: "If omitted or explicitly
# set to 0, no maximum value is enforced"; 0 rather than omitted, so that a value once set is
# cleared). AWS documents no upper bound; 3,600 s is the most accepted here (the AWS CDK's check).
NO_RESPONSE_COMPLETION_TIMEOUT = 0
DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS = NO_RESPONSE_COMPLETION_TIMEOUT
RESPONSE_COMPLETION_TIMEOUT_RANGE = (S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS, 3600)
# The methods the distribution allows and caches: GET and HEAD. An origin group fails over only for
# GET, HEAD and OPTIONS, and "CloudFront will not failover if OPTIONS are not set as a Cached HTTP
# methods in your cache behavior" (CloudFront developer guide, "Optimize high availability with
# CloudFront origin failover"), so an allowed but uncached OPTIONS would be the one request a sick
# Region fails. Caching OPTIONS instead would serve one site's CORS preflight to another
# (CachingOptimized keys on the path, not on Origin), and the buckets have no CORS configuration,
# so S3 answers every OPTIONS with a 403 anyway. CloudFront answers any other method with a 403.
READ_METHODS = ("GET", "HEAD")
PRICE_CLASSES = ("PriceClass_All", "PriceClass_200", "PriceClass_100")
# CloudFront's default quota of origins per distribution: "Origins per distribution 100" (CloudFront
# developer guide, "Quotas"; older copies said 25), adjustable in Service Quotas. The CloudFront
# Functions engine declares every bucket as one; today's catalogue holds 34 Regions, so ./dev plan
# warns only if the catalogue grows past it.
ORIGINS_PER_DISTRIBUTION_QUOTA = 100
DEFAULT_PRICE_CLASS = "PriceClass_All"

# How long CloudFront tries to reach an origin before it fails over: attempts x timeout. Its own
# defaults are 3 x 10 s, so an unreachable Region would hold every cache miss for 30 s (CloudFront
# developer guide, "Optimize high availability with CloudFront origin failover", Controlling origin
# timeouts and attempts). A TCP connection from a Regional edge cache to S3 opens within one
# round trip, a few to a few hundred milliseconds even across continents, so 1 s per attempt is
# ample; three attempts (each a fresh SYN) ride out a lost packet, and the wait before failover
# stays at 3 s by default. Too short a timeout only costs an early
# failover to the next-nearest bucket, never an error.
CONNECTION_ATTEMPTS_RANGE = (1, 3)
CONNECTION_TIMEOUT_RANGE = (1, 10)
DEFAULT_CONNECTION_ATTEMPTS = 3
DEFAULT_CONNECTION_TIMEOUT_SECONDS = 1

# The Lambda@Edge function: CloudFront takes Lambda@Edge functions from us-east-1 only, whatever the
# stack's aws:region ("Restrictions on Lambda@Edge"). Its memory is also what ./dev plan prices.
LAMBDA_EDGE_REGION = "us-east-1"
EDGE_FUNCTION_RUNTIME = "python3.13"
# Origin-request functions may take up to 30 s; this one answers in microseconds, so 5 s is generous
# and a hung replica fails fast into the origin group's failover instead of holding the viewer.
EDGE_FUNCTION_TIMEOUT_SECONDS = 5
EDGE_FUNCTION_MEMORY_MB = 128
# The router's description, the same since the first release: besides what AWS requires of any
# Lambda@Edge function, it is how ./dev cleanup tells the router apart from the stack's other
# functions in us-east-1 (the evacuator's), current and old routers alike.
EDGE_FUNCTION_DESCRIPTION = "Routes CloudFront cache misses to the nearest regional S3 origin"

# The AWS managed response headers policy "SecurityHeadersPolicy" (HSTS, X-Content-Type-Options,
# X-Frame-Options, Referrer-Policy, X-XSS-Protection): CloudFront developer guide, "Use managed
# response headers policies".
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"
