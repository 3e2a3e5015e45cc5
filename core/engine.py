"""The routing engines: which CloudFront feature picks each request's bucket, and how it signs."""

from __future__ import annotations

from enum import StrEnum


class OriginAccess(StrEnum):
    """How CloudFront signs its requests to the buckets, and so what every bucket policy grants."""

    # Origin access identity: one OAI that every bucket grants.
    OAI = "oai"
    # Origin access control: every bucket grants CloudFront on condition of this distribution's ARN.
    OAC = "oac"


class Engine(StrEnum):
    """Where the routing logic runs."""

    # A Lambda@Edge origin-request function rewrites each cache miss to the nearest bucket.
    # CloudFront supports only an origin access identity behind that rewrite.
    LAMBDA_EDGE = "lambda-edge"
    # A CloudFront function at viewer-request picks, for every request, one of the distribution's
    # origins or a per-request origin group; each origin is signed with origin access control.
    CLOUDFRONT_FUNCTIONS = "cloudfront-functions"

    @property
    def origin_access(self) -> OriginAccess:
        """How CloudFront signs the requests this engine routes."""
        return OriginAccess.OAI if self is Engine.LAMBDA_EDGE else OriginAccess.OAC
