"""A stack's whole monthly bill at a given traffic, line by line, for each way of routing it.

Three ways are priced for the same stack and traffic: the two engines (``lambda-edge``,
``cloudfront-functions``) and CloudFront in front of an S3 Multi-Region Access Point, AWS's native
routing (``Way.MRAP``; not an engine of this program). Every line is a quantity times one price of
``tools/*_prices.json``, so each figure can be recomputed by hand from the files; a line appears
only when the stack as configured uses what it prices.

Where AWS leaves a point open the bill takes the dearer reading and says so: a charge AWS does not
document as applying is counted and marked (``Line.undocumented``), and the total without it is
printed beside; a price that differs by Region is taken at the dearest Region a record was found
for, unless the line says which Region it is. What the bill does not count, and why, is a list it
prints (``not_counted``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.cloudfront import EDGE_FUNCTION_MEMORY_MB
from core.engine import Engine
from core.evacuation import (
    EVACUATOR_MEMORY_MB,
    EVACUATOR_SCHEDULE,
    EVACUATOR_TIMEOUT_SECONDS,
    STATE_TABLE_HOME_REGION,
)
from core.monitoring import ACCESS_LOG_FORMATS_CHARGED
from core.routing_state import routing_state_layout
from core.waf import WEB_ACL_MANAGED
from routing.artifact import DEFAULT_STATE_REFRESH_SECONDS
from routing.catalogue import load_catalogue
from settings.parser import Settings
from settings.table import PROJECT, Replication
from tools.cloudwatch_logs import LAMBDA_PLATFORM_LOG_BYTES
from tools.cost import (
    MANAGED_WEB_ACL_RULES,
    METRICS_PER_REPLICATION_RULE,
    MonitoringPrices,
    monitoring_estimate,
)
from tools.evacuator_usage import (
    MONTH_SECONDS,
    EvacuatorUsage,
    evacuator_usage,
    invocations_per_month,
)
from tools.prices import Price, PriceBook, as_dollars

GB = 1024**3
KB = 1024
# The Lambda@Edge function's Query of the two rotation items: eventually consistent, under 4 KB,
# so half a read unit ("How AWS Pricing Works", DynamoDB).
EDGE_STATE_READ_UNITS = Decimal("0.5")
# Lambda bills the INIT phase of a cold start: "Effective August 1, 2025, AWS will standardize
# billing for the initialization (INIT) phase ... This change specifically affects on-demand
# invocations of Lambda functions packaged as ZIP files that use managed runtimes", and "During the
# INIT phase, Lambda performs a series of preparatory steps within a maximum duration of 10
# seconds" (AWS Compute Blog, "AWS Lambda standardizes billing for INIT Phase",
# https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/). The
# evacuator is such a function (python3.13, a .zip package).
LAMBDA_INIT_MAX_SECONDS = 10
# The traffic a bill assumes unless told (./dev plan's flags): a static site's objects, most of
# them small, at the request volume ./dev plan has always defaulted to; 100 GB of content in each
# bucket, a tenth of it published anew each month; and an access log line of CloudFront's
# standard fields, which run to about 500 bytes (an assumption: AWS documents no average).
DEFAULT_OBJECT_KB = Decimal(100)
DEFAULT_STORED_GB = Decimal(100)
DEFAULT_PUBLISHED_GB = Decimal(10)
DEFAULT_LOG_BYTES_PER_REQUEST = 500


class Way(StrEnum):
    """A way of routing the stack's requests to its buckets."""

    LAMBDA_EDGE = "lambda-edge"
    CLOUDFRONT_FUNCTIONS = "cloudfront-functions"
    # CloudFront in front of one S3 Multi-Region Access Point: AWS routes each origin request.
    MRAP = "s3-multi-region-access-point"

    @property
    def label(self) -> str:
        return {
            Way.LAMBDA_EDGE: "lambda-edge",
            Way.CLOUDFRONT_FUNCTIONS: "cloudfront-functions",
            Way.MRAP: "CloudFront + S3 Multi-Region Access Point",
        }[self]

    @classmethod
    def of(cls, engine: Engine) -> Way:
        return cls(engine.value)


@dataclass(frozen=True)
class Traffic:
    """The traffic a bill is for. GB are 2^30 bytes and KB 2^10, as S3 bills them ("Amazon S3
    storage usage is calculated in binary gigabytes", S3 pricing)."""

    requests: int
    hit_ratio: Decimal
    object_kb: Decimal
    gb_served: Decimal
    stored_gb: Decimal
    published_gb: Decimal
    lambda_edge_ms: Decimal
    log_bytes_per_request: int
    lambda_edge_instances: int | None = None

    @property
    def misses(self) -> Decimal:
        """The requests the edge cache does not answer: origin fetches."""
        return self.requests * (1 - self.hit_ratio)

    @property
    def origin_gb(self) -> Decimal:
        """What the origins send on those misses (the byte hit ratio taken as the request one)."""
        return self.gb_served * (1 - self.hit_ratio)

    @property
    def published_objects(self) -> Decimal:
        return self.published_gb * GB / (self.object_kb * KB)

    @property
    def stored_objects(self) -> Decimal:
        return self.stored_gb * GB / (self.object_kb * KB)

    def edge_state_reads(self) -> tuple[Decimal, str]:
        """How many times Lambda@Edge reads the routing state in a month, and why. Each container
        reads at most once per refresh period and only while it serves a miss, so one read per
        miss is the most there can be; how many containers serve the misses AWS does not document,
        so that ceiling is the bill's figure unless ``--lambda-edge-instances`` gives one."""
        if self.lambda_edge_instances is None:
            return self.misses, (
                "one per cache miss, the most there can be: fewer when a container serves several "
                f"misses within {DEFAULT_STATE_REFRESH_SECONDS:g} s, by how much AWS does not "
                "document"
            )
        refreshes = Decimal(self.lambda_edge_instances * MONTH_SECONDS) / Decimal(
            str(DEFAULT_STATE_REFRESH_SECONDS)
        )
        return min(self.misses, refreshes), (
            f"your figure: {self.lambda_edge_instances:,} instance(s), each reading at most once "
            f"per {DEFAULT_STATE_REFRESH_SECONDS:g} s, and never more than one read per miss"
        )

    def document(self) -> dict[str, Any]:
        return {
            "requestsPerMonth": self.requests,
            "cacheHitRatio": float(self.hit_ratio),
            "averageObjectKb": float(self.object_kb),
            "gbServedPerMonth": float(self.gb_served),
            "storedGbPerBucket": float(self.stored_gb),
            "publishedGbPerMonth": float(self.published_gb),
            "lambdaEdgeMs": float(self.lambda_edge_ms),
            "lambdaEdgeInstances": self.lambda_edge_instances,
            "logBytesPerRequest": self.log_bytes_per_request,
        }


@dataclass(frozen=True)
class Stack:
    """What of a stack's settings its bill depends on."""

    name: str
    engine: Engine
    origins: tuple[str, ...]
    mesh: bool
    replication_time_control: bool
    monitoring: bool
    evacuation: bool
    vantages: tuple[str, ...]
    failures: int
    recoveries: int
    web_acl: str | None
    access_logs: bool
    access_log_days: int
    access_log_format: str
    log_retention_days: int
    noncurrent_version_days: int

    @classmethod
    def of(cls, settings: Settings) -> Stack:
        return cls(
            name=settings.stack,
            engine=settings.engine,
            origins=settings.origins,
            mesh=settings.replication is Replication.MESH,
            replication_time_control=settings.replication_time_control,
            monitoring=settings.monitoring,
            evacuation=settings.evacuation,
            vantages=settings.evacuation_vantages,
            failures=settings.evacuation_failures,
            recoveries=settings.evacuation_recoveries,
            web_acl=settings.web_acl,
            access_logs=settings.access_logs,
            access_log_days=settings.access_log_days,
            access_log_format=settings.access_log_format,
            log_retention_days=settings.log_retention_days,
            noncurrent_version_days=settings.noncurrent_version_days,
        )

    @property
    def routing_state(self) -> bool:
        """A stack of one origin never takes it out of rotation, so it has no routing state."""
        return len(self.origins) > 1

    @property
    def evacuates(self) -> bool:
        return self.evacuation and self.routing_state

    @property
    def replication_rules(self) -> int:
        return len(self.origins) * (len(self.origins) - 1) if self.mesh else 0


class Group(StrEnum):
    """What a line pays for, in the order the bill prints them."""

    DELIVERY = "CloudFront delivery"
    ORIGINS = "origins (S3)"
    REPLICATION = "replication"
    ROUTING = "routing"
    STATE = "routing state"
    EVACUATOR = "evacuator"
    MONITORING = "monitoring"
    WEB_ACL = "web ACL"
    ACCESS_LOGS = "access logs"


class Covered(StrEnum):
    """What a flat-rate plan includes in its price."""

    DELIVERY = "delivery"
    EDGE_COMPUTE = "edge compute"
    WAF = "AWS WAF"
    S3_STORAGE = "S3 storage credit"


@dataclass(frozen=True)
class Line:
    """One line of the bill: ``quantity`` units at ``price``. ``undocumented``: the line is a
    charge AWS does not document as applying here, counted (the dearer reading); the text says
    what is not documented."""

    group: Group
    what: str
    quantity: Decimal
    price: Price
    note: str = ""
    covered: Covered | None = None
    undocumented: str = ""

    @property
    def dollars(self) -> Decimal:
        return self.quantity * self.price.per_unit

    def document(self) -> dict[str, Any]:
        return {
            "group": self.group.value,
            "what": self.what,
            "quantity": _number(self.quantity),
            "unit": self.price.unit,
            "unitPrice": {"usd": float(self.price.usd), "per": self.price.per},
            "price": self.price.key,
            "dollarsPerMonth": as_dollars(self.dollars),
            "note": self.note,
            "coveredByFlatRatePlans": self.covered.value if self.covered else None,
            "undocumented": self.undocumented or None,
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class Bill:
    """One way's monthly bill for a stack at a traffic."""

    way: Way
    stack: Stack
    traffic: Traffic
    lines: tuple[Line, ...]
    # Why this way cannot serve the stack as configured (empty: it can).
    obstacles: tuple[str, ...] = ()
    one_off: tuple[Line, ...] = field(default=())

    @property
    def total(self) -> Decimal:
        return sum((line.dollars for line in self.lines), Decimal(0))

    @property
    def undocumented(self) -> tuple[Line, ...]:
        """The lines charged although AWS does not document that the charge applies."""
        return tuple(line for line in self.lines if line.undocumented)

    @property
    def total_without_undocumented(self) -> Decimal:
        """The total if none of the undocumented charges applies."""
        return self.total - sum((line.dollars for line in self.undocumented), Decimal(0))

    def group_total(self, group: Group) -> Decimal:
        return sum((line.dollars for line in self.lines if line.group is group), Decimal(0))

    def document(self) -> dict[str, Any]:
        return {
            "way": self.way.value,
            "lines": [line.document() for line in self.lines],
            "totalDollarsPerMonth": as_dollars(self.total),
            "totalWithoutUndocumentedDollarsPerMonth": as_dollars(self.total_without_undocumented),
            "byGroup": {
                group.value: as_dollars(self.group_total(group))
                for group in Group
                if any(line.group is group for line in self.lines)
            },
            "cannotServeThisStack": list(self.obstacles),
            "oneOff": [line.document() for line in self.one_off],
            "notCounted": list(not_counted(self.way, self.stack)),
        }


def _tier_label(below: Decimal, up_to: Decimal | None) -> str:
    """A tier of data transfer as the pricing page names it (1 TB = 1,024 GB)."""
    if up_to is None:
        return f"over {below / 1024:,f} TB a month"
    size = (up_to - below) / 1024
    return f"the {'first' if below == 0 else 'next'} {size:,f} TB a month"


def _delivery(traffic: Traffic, book: PriceBook) -> list[Line]:
    lines = []
    remaining, below = traffic.gb_served, Decimal(0)
    for tier in book.tiers("cloudFrontTransfer"):
        if remaining <= 0:
            break
        up_to = tier.tier_up_to_gb
        size = remaining if up_to is None else min(remaining, up_to - below)
        lines.append(
            Line(
                Group.DELIVERY,
                f"data transfer out, {_tier_label(below, up_to)}",
                size,
                tier,
                "at the rate for viewers in North America and Europe" if below == 0 else "",
                covered=Covered.DELIVERY,
            )
        )
        remaining -= size
        below = up_to or below
    lines.append(
        Line(
            Group.DELIVERY,
            "HTTPS requests",
            Decimal(traffic.requests),
            book["cloudFrontHttpsPer10kRequests"],
            "at the rate for viewers in the United States; other geographies cost more",
            covered=Covered.DELIVERY,
        )
    )
    return lines


def _origins(stack: Stack, traffic: Traffic, book: PriceBook) -> list[Line]:
    origins = len(stack.origins)
    return [
        Line(
            Group.ORIGINS,
            "GET requests on cache misses",
            traffic.misses,
            book["s3GetPerThousand"],
            "one per miss (transfer to CloudFront is free)",
        ),
        Line(
            Group.ORIGINS,
            f"storage, {origins} bucket(s) x {traffic.stored_gb:,f} GB",
            origins * traffic.stored_gb,
            book["s3StandardStoragePerGbMonth"],
            covered=Covered.S3_STORAGE,
        ),
        # Every bucket is versioned (replication needs it) and expires a noncurrent version after
        # noncurrentVersionDays, so what a month's publishing replaces stays that long in each.
        Line(
            Group.ORIGINS,
            f"noncurrent versions, {origins} bucket(s), kept {stack.noncurrent_version_days} days",
            origins * traffic.published_gb * stack.noncurrent_version_days / 30,
            book["s3StandardStoragePerGbMonth"],
            f"as if all {traffic.published_gb:,f} GB published replaced objects, the most it can "
            "be (noncurrentVersionDays)",
        ),
    ]


def _replication(stack: Stack, traffic: Traffic, book: PriceBook) -> list[Line]:
    if not stack.replication_rules:
        return []
    copies = len(stack.origins) - 1
    lines = [
        Line(
            Group.REPLICATION,
            f"replica PUTs, {copies} per object published",
            traffic.published_objects * copies,
            book["s3PutPerThousand"],
            f"{traffic.published_gb:,f} GB published as {traffic.object_kb:,f} KB objects",
        ),
        Line(
            Group.REPLICATION,
            f"inter-Region transfer, {copies} copies",
            traffic.published_gb * copies,
            book["s3InterRegionTransferPerGb"],
        ),
    ]
    if stack.replication_time_control:
        lines.append(
            Line(
                Group.REPLICATION,
                "Replication Time Control transfer",
                traffic.published_gb * copies,
                book["s3ReplicationTimeControlPerGb"],
            )
        )
        if not stack.monitoring:
            lines.append(
                Line(
                    Group.REPLICATION,
                    "replication metrics (on with RTC)",
                    Decimal(stack.replication_rules * METRICS_PER_REPLICATION_RULE),
                    book["metricPerMonth"],
                    f"{stack.replication_rules} rules x {METRICS_PER_REPLICATION_RULE}",
                )
            )
    return lines


def function_logs(
    group: Group, who: str, invocations: Decimal, bytes_each: int, days: int, book: PriceBook
) -> list[Line]:
    """A Lambda function's CloudWatch Logs: what ``invocations`` write, ``bytes_each``, ingested,
    and kept ``days`` (logRetentionDays)."""
    ingested = invocations * bytes_each / GB
    return [
        Line(
            group,
            f"{who} logs ingested",
            ingested,
            book["cloudWatchLogsIngestionPerGb"],
            f"{bytes_each:,} bytes per invocation: Lambda's START, END and REPORT lines",
        ),
        Line(
            group,
            f"{who} logs stored",
            ingested * days / 30,
            book["cloudWatchLogsStoragePerGbMonth"],
            f"kept {days} days (logRetentionDays)",
        ),
    ]


def _lambda_edge(stack: Stack, traffic: Traffic, book: PriceBook) -> list[Line]:
    billed_ms = Decimal(math.ceil(traffic.lambda_edge_ms))
    gb_seconds = Decimal(EDGE_FUNCTION_MEMORY_MB) / 1024 * billed_ms / 1000
    return [
        Line(
            Group.ROUTING,
            "Lambda@Edge requests (cache misses)",
            traffic.misses,
            book["lambdaEdgePerMillionRequests"],
        ),
        Line(
            Group.ROUTING,
            "Lambda@Edge duration",
            traffic.misses * gb_seconds,
            book["lambdaEdgePerGbSecond"],
            f"{billed_ms} ms billed at {EDGE_FUNCTION_MEMORY_MB} MB per invocation: an assumption "
            "(--lambda-edge-ms), as the handler runs in microseconds locally; Lambda's billed "
            "duration is not measured",
        ),
        *function_logs(
            Group.ROUTING,
            "Lambda@Edge",
            traffic.misses,
            LAMBDA_PLATFORM_LOG_BYTES,
            stack.log_retention_days,
            book,
        ),
    ]


def _routing(way: Way, stack: Stack, traffic: Traffic, book: PriceBook) -> list[Line]:
    if way is Way.LAMBDA_EDGE:
        return _lambda_edge(stack, traffic, book)
    if way is Way.CLOUDFRONT_FUNCTIONS:
        return [
            Line(
                Group.ROUTING,
                "CloudFront Functions invocations (every request)",
                Decimal(traffic.requests),
                book["cloudFrontFunctionsPerMillionInvocations"],
                covered=Covered.EDGE_COMPUTE,
            )
        ]
    return [
        Line(
            Group.ROUTING,
            "Multi-Region Access Point data routing",
            traffic.origin_gb,
            book["s3MultiRegionAccessPointRoutingPerGb"],
            "the GB fetched on cache misses",
        ),
        Line(
            Group.ROUTING,
            "Multi-Region Access Point internet acceleration",
            traffic.origin_gb,
            book["s3MultiRegionAccessPointAccelerationPerGb"],
            "the GB fetched on cache misses, at the page's highest rate",
            undocumented=MRAP_ACCELERATION_UNDOCUMENTED,
        ),
    ]


# Why the access point's acceleration line is counted although AWS may not charge it.
MRAP_ACCELERATION_UNDOCUMENTED = (
    "internet acceleration is charged 'If your application runs outside of AWS and accesses S3 "
    "over the internet' (S3 pricing); no page found says whether CloudFront's origin fetches "
    "through an access point are"
)


def regional_price(book: PriceBook, key: str, region: str) -> Price:
    """``key``'s price in ``region``: US East's as recorded, any other Region's at the dearest
    Region's (``key`` + ``DearestRegion``), as no per-Region table was read."""
    return book[key] if region == "us-east-1" else book[f"{key}DearestRegion"]


def _state(way: Way, stack: Stack, traffic: Traffic, book: PriceBook) -> list[Line]:
    if not stack.routing_state or way is Way.MRAP:
        return []
    if way is Way.CLOUDFRONT_FUNCTIONS:
        return [
            Line(
                Group.STATE,
                "key value store reads (one per request)",
                Decimal(traffic.requests),
                book["keyValueStorePerMillionReads"],
            )
        ]
    reads, why = traffic.edge_state_reads()
    return [
        Line(
            Group.STATE,
            "DynamoDB reads by Lambda@Edge",
            reads * EDGE_STATE_READ_UNITS,
            book["dynamoDbPerMillionReadUnitsDearestRegion"],
            f"{why}; half a unit each, at the dearest Region's price (each container reads the "
            "replica of the Region it runs in)",
        )
    ]


def evacuator_run_seconds() -> int:
    """What one evacuator run can bill at most: its timeout, plus a cold start's INIT phase, which
    Lambda bills since 2025-08-01 and bounds at 10 s (``LAMBDA_INIT_MAX_SECONDS``)."""
    return EVACUATOR_TIMEOUT_SECONDS + LAMBDA_INIT_MAX_SECONDS


def _evacuator(way: Way, stack: Stack, book: PriceBook) -> list[Line]:
    vantages = len(stack.vantages)
    usage = evacuator_usage(
        origins=tuple(stack.origins),
        vantages=tuple(stack.vantages),
        # CloudFront Functions read the state from a key value store the evacuator publishes to.
        key_value_store=way is Way.CLOUDFRONT_FUNCTIONS,
        failures=stack.failures,
        recoveries=stack.recoveries,
    )
    runs = Decimal(vantages * invocations_per_month())
    seconds = evacuator_run_seconds()
    schedule = f"{vantages} vantage Region(s), {EVACUATOR_SCHEDULE}"
    return [
        Line(
            Group.EVACUATOR, "function requests", runs, book["lambdaPerMillionRequests"], schedule
        ),
        Line(
            Group.EVACUATOR,
            "function duration",
            runs * Decimal(EVACUATOR_MEMORY_MB) / 1024 * seconds,
            book["lambdaPerGbSecond"],
            f"each run billed at {seconds} s, at {EVACUATOR_MEMORY_MB} MB: its "
            f"{EVACUATOR_TIMEOUT_SECONDS} s timeout and the {LAMBDA_INIT_MAX_SECONDS} s a cold "
            "start's INIT phase can add (billed since 2025-08-01), the most a run can bill",
        ),
        Line(Group.EVACUATOR, "schedule invocations", runs, book["schedulerPerMillionInvocations"]),
        Line(
            Group.EVACUATOR,
            "probes (S3 GETs)",
            runs * usage.probes,
            book["s3GetPerThousand"],
            f"{usage.probes} per run, at the us-east-1 price whatever the bucket's Region",
        ),
        *_evacuator_table(way, stack, usage, runs, book),
        Line(
            Group.EVACUATOR,
            "metric data (PutMetricData)",
            runs * usage.metric_calls,
            book["putMetricDataPerThousand"],
        ),
        *function_logs(
            Group.EVACUATOR,
            "function",
            runs,
            LAMBDA_PLATFORM_LOG_BYTES + usage.log_bytes,
            stack.log_retention_days,
            book,
        ),
    ]


def _evacuator_table(
    way: Way, stack: Stack, usage: EvacuatorUsage, runs: Decimal, book: PriceBook
) -> list[Line]:
    """The evacuator's writes to the state table, billed in every Region holding a replica ("one
    rWRU per replica table is charged for each write up to 1KB", DynamoDB developer guide,
    "Understanding Amazon DynamoDB billing for global tables"), their replication between Regions
    ("Cross-Region data transfer fees apply", same page), and its reads of the home replica."""
    home = STATE_TABLE_HOME_REGION
    others = table_regions(way, stack) - 1
    units = runs * usage.write_units
    lines = [
        Line(
            Group.EVACUATOR,
            f"state table writes, home replica ({home})",
            units,
            regional_price(book, "dynamoDbPerMillionWriteUnits", home),
            f"{usage.writes} write(s) per run, {usage.write_units} unit(s)",
        )
    ]
    if others:
        lines += [
            Line(
                Group.EVACUATOR,
                "state table writes, replicated to the other Regions",
                units * others,
                book["dynamoDbPerMillionWriteUnitsDearestRegion"],
                f"one replicated unit per write unit in each of {others} other replica(s), at the "
                "dearest Region's price",
            ),
            Line(
                Group.EVACUATOR,
                "state table replication between Regions",
                units * others * KB / GB,
                book["dynamoDbReplicationTransferPerGb"],
                "1 KB per write unit to each other replica (an item is at most that)",
            ),
        ]
    lines.append(
        Line(
            Group.EVACUATOR,
            "state table reads (strongly consistent)",
            runs * usage.read_units,
            regional_price(book, "dynamoDbPerMillionReadUnits", home),
            f"{usage.queries} queries and {usage.item_reads} item reads per run, of the home "
            f"replica ({home})",
        )
    )
    return lines


def _monitoring(way: Way, stack: Stack, book: PriceBook) -> list[Line]:
    engine = Engine.CLOUDFRONT_FUNCTIONS if way is Way.MRAP else Engine(way.value)
    estimate = monitoring_estimate(
        MonitoringPrices.of(book),
        enabled=stack.monitoring,
        engine=engine,
        origins=len(stack.origins),
        mesh=stack.mesh,
        evacuation=stack.evacuates and way is not Way.MRAP,
        vantages=len(stack.vantages),
        router=way is not Way.MRAP,
    )
    if not estimate.enabled:
        return []
    return [
        Line(
            Group.MONITORING,
            "alarms",
            Decimal(estimate.alarms),
            book["alarmPerMonth"],
            estimate.alarm_kinds(),
        ),
        Line(
            Group.MONITORING, "dashboard", Decimal(estimate.dashboards), book["dashboardPerMonth"]
        ),
        Line(
            Group.MONITORING,
            "metrics",
            Decimal(estimate.metrics),
            book["metricPerMonth"],
            estimate.metric_kinds(),
        ),
    ]


def _web_acl(stack: Stack, traffic: Traffic, book: PriceBook) -> list[Line]:
    if stack.web_acl is None:
        return []
    lines = []
    if stack.web_acl == WEB_ACL_MANAGED:
        lines = [
            Line(Group.WEB_ACL, "web ACL", Decimal(1), book["webAclPerMonth"], covered=Covered.WAF),
            Line(
                Group.WEB_ACL,
                "rules",
                Decimal(MANAGED_WEB_ACL_RULES),
                book["rulePerMonth"],
                "a rate limit per client IP and the AWS managed rule groups, each group counted as "
                "one rule, as AWS's WAF cost guide says (one third party says several)",
                covered=Covered.WAF,
            ),
        ]
    note = "" if lines else "your own web ACL: its monthly and rule charges are its own"
    lines.append(
        Line(
            Group.WEB_ACL,
            "requests inspected (every viewer request)",
            Decimal(traffic.requests),
            book["wafPerMillionRequests"],
            note,
            covered=Covered.WAF,
        )
    )
    return lines


def access_log_price(log_format: str, book: PriceBook) -> Price | None:
    """What CloudWatch charges per GB to deliver access logs to S3 in ``log_format``: Parquet is a
    conversion CloudWatch bills; plain delivery to S3 is free ("There are no additional charges for
    log delivery to Amazon S3 ... If you enable the Parquet option ... this option incurs CloudWatch
    charges", CloudFront developer guide, "Configure standard logging (v2)")."""
    return book["accessLogParquetPerGb"] if log_format in ACCESS_LOG_FORMATS_CHARGED else None


def _access_logs(stack: Stack, traffic: Traffic, book: PriceBook) -> list[Line]:
    if not stack.access_logs:
        return []
    log_gb = Decimal(traffic.requests * traffic.log_bytes_per_request) / GB
    per_line = f"{traffic.log_bytes_per_request} bytes per request"
    lines = []
    conversion = access_log_price(stack.access_log_format, book)
    if conversion is not None:
        lines.append(
            Line(
                Group.ACCESS_LOGS,
                f"{stack.access_log_format} conversion",
                log_gb,
                conversion,
                per_line,
            )
        )
    kept = log_gb * stack.access_log_days / 30
    lines.append(
        Line(
            Group.ACCESS_LOGS,
            "log storage",
            kept,
            book["s3StandardStoragePerGbMonth"],
            f"{per_line}, kept {stack.access_log_days} days",
        )
    )
    return lines


def obstacles(way: Way, origins: Sequence[str]) -> tuple[str, ...]:
    """Why ``way`` cannot serve these origins, by what AWS documents."""
    catalogue = load_catalogue()
    if way is Way.LAMBDA_EDGE:
        too_new = [
            code for code in origins if code in catalogue and not catalogue[code].supports_oai
        ]
        if too_new:
            return (
                f"{', '.join(too_new)} launched after December 2022, where an origin access "
                "identity does not work",
            )
    if way is Way.MRAP:
        opt_in = [code for code in origins if code in catalogue and catalogue[code].opt_in]
        if opt_in:
            return (
                f"{', '.join(opt_in)}: opt-in Region(s); 'Requests routed to a bucket in an "
                "opt-in Region will fail' behind origin access control",
            )
    return ()


def not_counted(way: Way, stack: Stack) -> tuple[str, ...]:
    """What the bill of ``stack`` routed ``way`` leaves out, each with why."""
    left = [
        "free tiers: the bill is before them (each price file says what its free tier is)",
        "CloudFront's origin fetches from S3: free ('Free for origin fetches from any AWS "
        "origin', CloudFront pricing)",
        "failover retries: while a Region fails, a second origin fetch per miss"
        + (
            " and a second Lambda@Edge invocation, with its log lines"
            if way is Way.LAMBDA_EDGE
            else ""
        )
        + ": only during an incident, for as long as it lasts",
        "viewers outside North America and Europe, and S3 requests and transfer in Regions other "
        "than US East: the lines are at those rates (each says so) and some cost more",
    ]
    if stack.access_logs:
        left.append(
            "the PUT requests that deliver access log files to their bucket: how CloudFront "
            "batches them is not documented"
        )
    if stack.monitoring or stack.evacuates:
        left.append("SNS notifications: only when an alarm or the evacuator changes state")
    if stack.routing_state and way is not Way.MRAP:
        left += _state_not_counted(way, stack)
    if way is Way.LAMBDA_EDGE:
        left += [
            "the longer Lambda@Edge invocations that read the routing state (at most one per "
            f"container every {DEFAULT_STATE_REFRESH_SECONDS:g} s, each network step of the read "
            "cut at its time-out): AWS documents neither how many containers run nor how long an "
            "in-Region read takes; --lambda-edge-ms raises every invocation's billed time",
            "Lambda@Edge cold starts' INIT phase: whether Lambda@Edge, billed under CloudFront's "
            "pricing, bills it as Lambda does since 2025-08-01 is not documented",
            "the Lambda@Edge function's own log lines: one per container, on an error only",
        ]
    if way is Way.CLOUDFRONT_FUNCTIONS:
        left.append("the CloudFront function's log lines: written on an error only")
    if way is Way.MRAP:
        left.append(
            "the access point's failover controls: 'S3 API costs to view the current routing "
            "control status ... and submit any routing control changes' (S3 pricing), only when "
            "used"
        )
    return tuple(left)


def _state_not_counted(way: Way, stack: Stack) -> list[str]:
    left = [
        "the state table's storage: a few items under a kilobyte each, in every replica",
        "DynamoDB Streams, through which global tables replicate: 'rWCUs and rWRUs include the "
        "cost of the streaming infrastructure needed to manage the replication' (AWS Prescriptive "
        "Guidance, 'Using Amazon DynamoDB global tables', FAQ)",
        "a Region added to the state table: billed once 'as if it were a table restore' plus "
        "cross-Region transfer (same FAQ), a few items",
    ]
    if way is Way.CLOUDFRONT_FUNCTIONS:
        left.append(
            "key value store writes (the evacuator's and `./dev evacuate`'s): only when the state "
            "changes, and no price for the store's API was found"
        )
    if stack.evacuates:
        left += [
            "the evacuator's work when the state changes (more writes, a notification): only on a "
            "change",
            "a scheduled run delivered twice: Lambda's asynchronous queue 'is eventually "
            "consistent', so a function may 'receive the same event from Lambda multiple times' "
            "(Lambda developer guide, 'How Lambda handles errors and retries with asynchronous "
            "invocation'); AWS gives no rate",
            "the probes' answers crossing Regions: a 2-byte health object each",
        ]
    return left


def table_regions(way: Way, stack: Stack) -> int:
    """How many Regions hold the state table (each write is billed in each)."""
    layout = routing_state_layout(
        project=PROJECT,
        stack=stack.name,
        engine=Engine(way.value),
        origins=stack.origins,
        evacuation=stack.evacuation,
        vantages=stack.vantages,
    )
    return len(layout.table_regions) if layout else 0


def bill(way: Way, stack: Stack, traffic: Traffic, book: PriceBook) -> Bill:
    """``stack``'s monthly bill at ``traffic`` when routed ``way``."""
    lines = [
        *_delivery(traffic, book),
        *_origins(stack, traffic, book),
        *_replication(stack, traffic, book),
        *_routing(way, stack, traffic, book),
        *_state(way, stack, traffic, book),
        *(_evacuator(way, stack, book) if stack.evacuates and way is not Way.MRAP else []),
        *_monitoring(way, stack, book),
        *_web_acl(stack, traffic, book),
        *_access_logs(stack, traffic, book),
    ]
    return Bill(
        way,
        stack,
        traffic,
        tuple(lines),
        obstacles(way, stack.origins),
        _one_off(stack, traffic, book),
    )


def _one_off(stack: Stack, traffic: Traffic, book: PriceBook) -> tuple[Line, ...]:
    """Adding a Region to the stack, filled by S3 Batch Replication (``./dev backfill``): once.
    Each stored object is processed once, by the job of the bucket it was written to, and copied
    into the new bucket only: the other buckets hold it already, and "If the metadata is in sync,
    Batch Replication will do nothing and you incur no charge" (S3 pricing, S3 Batch Replication,
    as quoted from a public text copy of the page: second-hand, like the prices). Each job's
    manifest is generated from its source bucket, which holds every stored object."""
    sources = len(stack.origins)
    return (
        Line(
            Group.REPLICATION,
            "Batch Replication jobs (one per bucket)",
            Decimal(sources),
            book["s3BatchJob"],
        ),
        Line(
            Group.REPLICATION,
            "Batch Replication manifests",
            sources * traffic.stored_objects,
            book["s3BatchManifestPerMillionObjects"],
            f"each job's source bucket holds all {traffic.stored_objects:,.0f} objects",
        ),
        Line(
            Group.REPLICATION,
            "Batch Replication objects",
            traffic.stored_objects,
            book["s3BatchPerMillionObjects"],
        ),
        Line(
            Group.REPLICATION,
            "replica PUTs into the new bucket",
            traffic.stored_objects,
            book["s3PutPerThousand"],
        ),
        Line(
            Group.REPLICATION,
            "inter-Region transfer into the new bucket",
            traffic.stored_gb,
            book["s3InterRegionTransferPerGb"],
        ),
    )


def bills(stack: Stack, traffic: Traffic, book: PriceBook) -> dict[Way, Bill]:
    """The stack's bill each way."""
    return {way: bill(way, stack, traffic, book) for way in Way}


# What each input is raised by to see what moves the total: 10% more of each quantity (for the
# cache-hit ratio: 10% more misses).
def _raised(traffic: Traffic) -> dict[str, Traffic]:
    tenth = Decimal("1.1")
    return {
        "requests a month": replace(
            traffic,
            requests=math.ceil(traffic.requests * tenth),
            gb_served=traffic.gb_served * tenth,
        ),
        "GB served": replace(traffic, gb_served=traffic.gb_served * tenth),
        "cache misses": replace(
            traffic, hit_ratio=max(Decimal(0), 1 - (1 - traffic.hit_ratio) * tenth)
        ),
        "GB stored": replace(traffic, stored_gb=traffic.stored_gb * tenth),
        "GB published": replace(traffic, published_gb=traffic.published_gb * tenth),
    }


@dataclass(frozen=True)
class Driver:
    what: str
    dollars: Decimal


def drivers(way: Way, stack: Stack, traffic: Traffic, book: PriceBook) -> list[Driver]:
    """What 10% more of each input adds to the total, the largest first."""
    base = bill(way, stack, traffic, book).total
    found = [
        Driver(what, bill(way, stack, raised, book).total - base)
        for what, raised in _raised(traffic).items()
    ]
    return sorted(found, key=lambda driver: (-driver.dollars, driver.what))


def largest_lines(bill_: Bill, count: int = 3) -> list[Line]:
    return sorted(bill_.lines, key=lambda line: -line.dollars)[:count]
