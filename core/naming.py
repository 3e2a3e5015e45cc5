"""Physical names: pure functions, shared by the program and the local tools (no Pulumi import)."""

from __future__ import annotations

import hashlib
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


# DynamoDB table names: 3-255 characters of letters, digits, '_', '-' and '.' (DynamoDB developer
# guide, "Supported data types and naming rules in Amazon DynamoDB").
MAX_TABLE_NAME = 255
# Lambda function names: letters, digits, '-' and '_', at most 64 (Lambda API, CreateFunction:
# FunctionName).
MAX_FUNCTION_NAME = 64
_NAME_HASH_LENGTH = 8


def _fitted(stem: str, suffix: str, raw: str, allowed: str, limit: int) -> str:
    """``stem`` + ``suffix`` with every character outside ``allowed`` (a regex character class)
    replaced by '-', cut to ``limit``. When anything had to change, 8 hex digits of ``raw``'s
    SHA-256 go before the suffix, so two stacks whose names differ only in what was replaced or
    cut never share a physical name."""
    clean = re.sub(f"[^{allowed}]", "-", stem)
    if clean == stem and len(clean) + len(suffix) <= limit:
        return clean + suffix
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:_NAME_HASH_LENGTH]
    room = limit - len(suffix) - _NAME_HASH_LENGTH - 1
    return f"{clean[:room].rstrip('-')}-{digest}{suffix}"


def state_table_name(project: str, stack: str) -> str:
    """``<project>-<stack>-routing-state``: the stack's routing state table (a DynamoDB global
    table, so one name in every Region). Only the characters DynamoDB accepts, at most 255; a
    name that had to be changed to fit carries a hash of the original."""
    return _fitted(
        f"{project}-{stack}",
        "-routing-state",
        f"{project}\0{stack}",
        "A-Za-z0-9_.-",
        MAX_TABLE_NAME,
    )


def evacuator_function_name(project: str, stack: str) -> str:
    """``<project>-<stack>-evacuator``: the evacuator's function in each vantage Region (a Lambda
    function name is unique per Region, so one name serves every vantage). Only the characters
    Lambda accepts, at most 64; a name that had to be changed to fit carries a hash of the
    original."""
    return _fitted(
        f"{project}-{stack}", "-evacuator", f"{project}\0{stack}", "A-Za-z0-9_-", MAX_FUNCTION_NAME
    )


# AWS WAF takes a metric name of 1-128 letters, digits, '-' and '_', other than its reserved "All"
# and "Default_Action" (API reference, VisibilityConfig.MetricName).
MAX_WAF_METRIC_NAME = 128


def waf_metric_name(project: str, stack: str, suffix: str = "") -> str:
    """``<project>-<stack>[-<suffix>]`` as an AWS WAF metric name: any other character becomes '-',
    the stack name is shortened so that the suffix, which tells the rules apart, always stays."""
    tail = f"-{suffix}" if suffix else ""
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", f"{project}-{stack}")[: MAX_WAF_METRIC_NAME - len(tail)]
    return stem + re.sub(r"[^A-Za-z0-9_-]", "-", tail)
