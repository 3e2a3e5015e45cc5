"""A probe's answer judged as CloudFront would fail over on it: no answer, a timeout or a 5xx is a
failure; any other HTTP answer means the origin serves (a 403 or 404 told, never acted on); a
probe that cannot be sent says nothing of the origin."""

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)

from evacuation.probe import HEALTH_READ_BYTES, ProbeResult, Verdict, classify, probe
from tests.evacuation.support import FakeS3

URL = "https://s3.eu-central-1.amazonaws.com"


def client_error(code, status):
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url=URL),
        ConnectTimeoutError(endpoint_url=URL),
        ReadTimeoutError(endpoint_url=URL),
        ConnectionClosedError(endpoint_url=URL),
        SSLError(endpoint_url=URL, error="certificate verify failed"),
        ResponseStreamingError(error="connection reset while reading the body"),
        ConnectionResetError("reset by peer"),
        client_error("SlowDown", 503),
        client_error("InternalError", 500),
        client_error("ServiceUnavailable", 503),
    ],
    ids=lambda error: type(error).__name__ + getattr(error, "operation_name", ""),
)
def test_what_cloudfront_fails_over_on_is_a_failure(error):
    result = classify(error)
    assert result.verdict is Verdict.FAILED and result.healthy is False and not result.told


@pytest.mark.parametrize(
    "code,status",
    [
        ("AccessDenied", 403),
        ("NoSuchKey", 404),
        ("PermanentRedirect", 301),
        ("InvalidRange", 416),
        ("SlowDownButNot5xx", 429),
    ],
)
def test_any_other_http_answer_means_the_origin_serves_and_is_told(code, status):
    result = classify(client_error(code, status))
    assert result.verdict is Verdict.ANSWERS and result.healthy is True and result.told
    assert code in result.detail


@pytest.mark.parametrize(
    "error",
    [NoCredentialsError(), ParamValidationError(report="Bucket: invalid"), RuntimeError("bug")],
    ids=lambda error: type(error).__name__,
)
def test_a_probe_that_cannot_be_sent_says_nothing_of_the_origin_and_is_told(error):
    result = classify(error)
    assert result.verdict is Verdict.CANNOT_PROBE and result.healthy is None and result.told


def test_a_probe_reads_a_few_bytes_of_the_object_in_the_owners_bucket():
    s3 = FakeS3(b"x" * 10_000_000)
    assert probe(s3, "bucket-eu", "health", "123456789012") == ProbeResult(Verdict.HEALTHY)
    (request,) = s3.calls
    assert request == {
        "Bucket": "bucket-eu",
        "Key": "health",
        "Range": f"bytes=0-{HEALTH_READ_BYTES - 1}",
        "ExpectedBucketOwner": "123456789012",
    }
    (body,) = s3.bodies
    # One bounded read, then closed: a large object costs the probe nothing.
    assert body.read_sizes == [HEALTH_READ_BYTES] and body.closed


def test_a_probe_that_raises_is_judged_never_raised():
    s3 = FakeS3()
    s3.error = client_error("AccessDenied", 403)
    assert probe(s3, "b", "k", None).verdict is Verdict.ANSWERS
    assert "ExpectedBucketOwner" not in s3.calls[0]
