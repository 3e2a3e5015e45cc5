"""A probe of one origin, and what its answer says.

The probe reads the first bytes of the bucket's health object the way CloudFront reaches the
bucket (a signed GET to its Regional endpoint, the connection timeout CloudFront uses), naming the
account that must own the bucket. CloudFront fails over when "The primary origin returns an HTTP
status code that you've configured for failover", "CloudFront fails to connect to the primary
origin" or "The response from the primary origin takes too long (times out)" (CloudFront developer
guide, "Optimize high availability with CloudFront origin failover",
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html).
The probe counts only the part of that which says the Region itself is failing: a refused or
timed-out connection, a stall, a 5xx. A 403 or 404 is a failover code by default (an object a
Region has not received yet) but never the sign of a sick Region; and the probe's read timeout
(5 s) is shorter than S3 origins' 30 s, so a stall is judged within a round.

- **healthy**: the object was read.
- **answers**: the origin answered HTTP, but not with the object (a 3xx or a 4xx). It serves; the
  probe cannot judge it. A health object deleted answers 403 to a caller without
  ``s3:ListBucket`` ("If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP
  status code 403 Forbidden", S3 API reference, GetObject,
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html), and one delete empties every
  bucket of a mesh that replicates delete markers ("Amazon S3 behaves as if the object was deleted
  in both the source and destination buckets", S3 user guide, "Replicating delete markers between
  buckets", https://docs.aws.amazon.com/AmazonS3/latest/userguide/delete-marker-replication.html);
  a bucket policy or an SCP denying the probe, and a bucket another account owns ("the request
  fails with the HTTP status code 403 Forbidden", GetObject, ``ExpectedBucketOwner``), answer 403
  too. Counted as healthy, and told (an alarm), never acted on.
- **failed**: no connection, a timeout, a 5xx (503 Slow Down included: "you may see some 503
  (Slow Down) errors", S3 user guide, "Best practices design patterns: optimizing Amazon S3
  performance", https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html).
- **cannot probe**: the request never reached the origin (no credentials, a request the SDK
  refuses to send, anything unexpected). Neither healthy nor failed: told, never counted.

The read is bounded: a Range of ``HEALTH_READ_BYTES`` bytes, and never more read than that, so an
object someone made large costs the probe nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

# What the probe reads of the health object at most.
HEALTH_READ_BYTES = 16
_DETAIL_CHARACTERS = 300


class Verdict(StrEnum):
    HEALTHY = "healthy"
    ANSWERS = "answers"
    FAILED = "failed"
    CANNOT_PROBE = "cannot probe"


@dataclass(frozen=True)
class ProbeResult:
    verdict: Verdict
    detail: str = "ok"

    @property
    def healthy(self) -> bool | None:
        """Whether the origin serves, for the counts: None when the probe cannot tell."""
        if self.verdict is Verdict.CANNOT_PROBE:
            return None
        return self.verdict is not Verdict.FAILED

    @property
    def told(self) -> bool:
        """Whether the answer is one to tell a person about (the health object unreadable, or the
        probe unable to run)."""
        return self.verdict in (Verdict.ANSWERS, Verdict.CANNOT_PROBE)


def _detail(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_DETAIL_CHARACTERS]


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def classify(error: Exception) -> ProbeResult:
    """What a probe that raised ``error`` says of the origin."""
    if isinstance(error, ClientError):
        status = http_status(error)
        if status >= 500:
            return ProbeResult(Verdict.FAILED, _detail(error))
        if 300 <= status < 500:
            return ProbeResult(Verdict.ANSWERS, _detail(error))
        return ProbeResult(Verdict.CANNOT_PROBE, _detail(error))
    # No connection, a connection timeout, a TLS failure; a read timeout, a connection closed or
    # a body cut short: what CloudFront fails over on.
    if isinstance(error, BotocoreConnectionError | HTTPClientError | OSError):
        return ProbeResult(Verdict.FAILED, _detail(error))
    if isinstance(error, BotoCoreError):
        return ProbeResult(Verdict.CANNOT_PROBE, _detail(error))
    return ProbeResult(Verdict.CANNOT_PROBE, _detail(error))


def probe(client: Any, bucket: str, key: str, account: str | None) -> ProbeResult:
    """Read the first bytes of ``bucket``'s ``key`` with ``client`` (an S3 client for the bucket's
    Region, with the probe's timeouts and one attempt)."""
    request: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Range": f"bytes=0-{HEALTH_READ_BYTES - 1}",
    }
    if account:
        request["ExpectedBucketOwner"] = account
    try:
        answer = client.get_object(**request)
        body = answer["Body"]
        try:
            body.read(HEALTH_READ_BYTES)
        finally:
            body.close()
    except Exception as error:  # noqa: BLE001 - every way a probe ends is judged, none escapes
        return classify(error)
    return ProbeResult(Verdict.HEALTHY)
