"""Physical names: pure functions, shared by the program and the local tools (no Pulumi import)."""

from __future__ import annotations

import re

# S3 keeps bucket_prefix to 37 characters and appends a 26-character unique suffix.
_MAX_BUCKET_PREFIX = 37


def bucket_prefix(project: str, stack: str, region: str) -> str:
    """A readable, valid bucket name prefix: ``<project>-<stack>-<region>-``, shortened to fit."""
    room = _MAX_BUCKET_PREFIX - len(region) - 2
    stem = re.sub(r"[^a-z0-9]+", "-", f"{project}-{stack}".lower()).strip("-")[:room].strip("-")
    return f"{stem or 'geo'}-{region}-"


# CloudFront's limit on a distribution's and an origin access identity's comment.
MAX_COMMENT = 128


def resource_comment(project: str, stack: str, purpose: str, limit: int = MAX_COMMENT) -> str:
    """``<project>/<stack>: <purpose>``, the stack name shortened with '...' so it fits ``limit``
    whatever the stack is called (Pulumi allows 100 characters)."""
    room = limit - len(f"{project}/: {purpose}")
    if len(stack) > room:
        stack = stack[: max(room - 3, 0)] + "..."
    return f"{project}/{stack}: {purpose}"[:limit]


# SNS accepts a topic display name of letters, digits, spaces, hyphens and underscores, at most 100.
MAX_SNS_DISPLAY_NAME = 100


def sns_display_name(project: str, stack: str, suffix: str) -> str:
    """``<project> <stack> <suffix>`` as an SNS topic's display name: any other character becomes
    '-', and the name is cut at 100 characters."""
    return re.sub(r"[^\w -]", "-", f"{project} {stack} {suffix}")[:MAX_SNS_DISPLAY_NAME]


# CloudWatch (PutDashboard) accepts a dashboard name of letters, digits, '-' and '_', at most 255.
MAX_DASHBOARD_NAME = 255


def dashboard_name(project: str, stack: str) -> str:
    """``<project>-<stack>`` as a CloudWatch dashboard's name: any other character becomes '-',
    and the name is cut at 255 characters."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{project}-{stack}")[:MAX_DASHBOARD_NAME]


# AWS WAF takes a metric name of 1-128 letters, digits, '-' and '_', other than its reserved "All"
# and "Default_Action" (API reference, VisibilityConfig.MetricName).
MAX_WAF_METRIC_NAME = 128


def waf_metric_name(project: str, stack: str, suffix: str = "") -> str:
    """``<project>-<stack>[-<suffix>]`` as an AWS WAF metric name: any other character becomes '-',
    the stack name is shortened so that the suffix, which tells the rules apart, always stays."""
    tail = f"-{suffix}" if suffix else ""
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", f"{project}-{stack}")[: MAX_WAF_METRIC_NAME - len(tail)]
    return stem + re.sub(r"[^A-Za-z0-9_-]", "-", tail)
