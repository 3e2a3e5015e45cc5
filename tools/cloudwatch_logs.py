"""How much a Lambda function writes to CloudWatch Logs, as CloudWatch Logs weighs it: the lines
Lambda itself writes on every invocation, and the size of any line as a log event."""

from __future__ import annotations

from collections.abc import Sequence

# What Lambda itself writes to the function's CloudWatch Logs group on every invocation, whatever
# the code logs: the Lambda developer guide's example ("Log and monitor Python Lambda functions",
# https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html), with a cold start's REPORT
# line (its "Init Duration" makes it the longer). Lambda@Edge writes them in the Region the
# function ran in (CloudFront developer guide, "Edge function logs").
LAMBDA_PLATFORM_LOG_LINES = (
    "START RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95 Version: $LATEST",
    "END RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95",
    "REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95  Duration: 15.74 ms  Billed Duration: "
    "147 ms Memory Size: 128 MB Max Memory Used: 56 MB  Init Duration: 130.49 ms",
)
# CloudWatch Logs sizes a batch as "the sum of all event messages in UTF-8, plus 26 bytes for each
# log event" (CloudWatch Logs API reference, PutLogEvents). Whether ingestion is billed on those 26
# bytes too is not documented: counted, the larger reading.
LOG_EVENT_OVERHEAD_BYTES = 26


def log_event_bytes(lines: Sequence[str]) -> int:
    """What ``lines``, one log event each, weigh in CloudWatch Logs: each line's UTF-8 bytes and its
    newline, and the per-event overhead."""
    return sum(len(line.encode("utf-8")) + 1 + LOG_EVENT_OVERHEAD_BYTES for line in lines)


LAMBDA_PLATFORM_LOG_BYTES = log_event_bytes(LAMBDA_PLATFORM_LOG_LINES)
