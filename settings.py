"""Stack settings: every config key parsed and validated in one place, into frozen typed objects.

``parse_settings`` is pure: it takes the raw strings the Pulumi CLI hands the program (structured
values as JSON text) and raises ``ConfigError`` naming the key, the bad value and what is accepted.
``load_settings`` reads them from the running stack. The local tools read stack files with
``tools.stack_file`` and pass them through ``parse_settings``, so they report the same messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from components.defaults import (
    CONNECTION_ATTEMPTS_RANGE,
    CONNECTION_TIMEOUT_RANGE,
    DEFAULT_ACCESS_LOG_DAYS,
    DEFAULT_ALARM_ERROR_COUNT,
    DEFAULT_ALARM_ERROR_RATE_PERCENT,
    DEFAULT_ALARM_EVALUATION_MINUTES,
    DEFAULT_CONNECTION_ATTEMPTS,
    DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    DEFAULT_FAILOVER_STATUS_CODES,
    DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_NONCURRENT_VERSION_DAYS,
    DEFAULT_PRICE_CLASS,
    FAILOVER_STATUS_CODES_ALLOWED,
    FAILOVER_STATUS_CODES_REQUIRED,
    LOG_RETENTION_DAYS,
    PRICE_CLASSES,
)
from components.engine import Engine
from components.policies import OriginAccess
from edge_function.cloudfront_function import FunctionTooLargeError, render_function_code
from routing.artifact import DEFAULT_MARKER_HEADER
from routing.catalogue import load_catalogue
from routing.table import FailoverMode, RoutingError, RoutingTable, derive_routing_table

PROJECT = "geo-proximity"

# Where the OAC-only cases are served from.
_CLOUDFRONT_FUNCTIONS_ENGINE = (
    "The CloudFront Functions engine signs with OAC and serves them "
    f"(pulumi config set {PROJECT}:engine {Engine.CLOUDFRONT_FUNCTIONS.value})"
)
# Tag keys every resource gets; user tags may not redefine them, in any case.
RESERVED_TAG_KEYS = ("project", "stack")
MAX_TAGS_PER_RESOURCE = 50
_TAG_PUNCTUATION = "_ . : / = + - @"
# Letters and digits of any script, spaces, and the punctuation above.
_TAG_TEXT = re.compile(f"[\\w {re.escape(_TAG_PUNCTUATION.replace(' ', ''))}]*")

# Routing inputs are named for Python in routing.table; users know them by their config keys.
_ROUTING_FIELD_KEYS = {
    "origins": "origins",
    "default_origin": "defaultOrigin",
    "overrides": "routes",
    "failover": "failover",
    "failover_origin": "failoverOrigin",
    "drained": "drained",
}
KNOWN_KEYS = (
    "engine",
    "nextEngine",
    "origins",
    "defaultOrigin",
    "routes",
    "failover",
    "failoverOrigin",
    "drained",
    "failoverStatusCodes",
    "logRetentionDays",
    "noncurrentVersionDays",
    "securityHeaders",
    "originAccess",
    "originConnectionAttempts",
    "originConnectionTimeout",
    "priceClass",
    "aliases",
    "certificateArn",
    "tags",
    "replication",
    "replicationTimeControl",
    "monitoring",
    "alarmEmail",
    "alarmErrorRatePercent",
    "alarmEvaluationMinutes",
    "alarmErrorCount",
    "accessLogs",
    "accessLogDays",
)
_ENGINES = tuple(engine.value for engine in Engine)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ACM_CERTIFICATE_ARN = re.compile(r"^arn:aws:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$")
_DOMAIN_NAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ConfigError(ValueError):
    """A stack config value that cannot be used. The message names the key as users type it."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{PROJECT}:{key}: {reason}")
        self.key = key


class Replication(StrEnum):
    # Every bucket replicates to every other one: a write to any Region reaches all.
    MESH = "mesh"
    # The buckets are filled by other means (the publish command with --all, a pipeline, ...).
    OFF = "off"


@dataclass(frozen=True)
class Settings:
    stack: str
    routing: RoutingTable
    failover_status_codes: tuple[int, ...]
    origin_access: OriginAccess
    price_class: str
    aliases: tuple[str, ...]
    certificate_arn: str | None
    tags: Mapping[str, str]
    replication: Replication
    replication_time_control: bool
    engine: Engine = Engine.LAMBDA_EDGE
    # The engine a switch is under way to: every bucket also grants its identity (see the README).
    next_engine: Engine | None = None
    origin_connection_attempts: int = DEFAULT_CONNECTION_ATTEMPTS
    origin_connection_timeout: int = DEFAULT_CONNECTION_TIMEOUT_SECONDS
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    noncurrent_version_days: int = DEFAULT_NONCURRENT_VERSION_DAYS
    security_headers: bool = True
    marker_header: str = DEFAULT_MARKER_HEADER
    monitoring: bool = True
    alarm_email: str | None = None
    alarm_error_rate_percent: float = DEFAULT_ALARM_ERROR_RATE_PERCENT
    alarm_evaluation_minutes: int = DEFAULT_ALARM_EVALUATION_MINUTES
    alarm_error_count: int = DEFAULT_ALARM_ERROR_COUNT
    access_logs: bool = False
    access_log_days: int = DEFAULT_ACCESS_LOG_DAYS
    # The config values these settings were parsed from (key without namespace → CLI string), so
    # the tools can parse a variant (the drill drains an origin) with the same checks.
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def origins(self) -> tuple[str, ...]:
        return self.routing.origins


def parse_settings(values: Mapping[str, str], *, stack: str) -> Settings:
    """Validate the raw config ``values`` (key without namespace → CLI string) of ``stack``."""
    unknown = sorted(set(values) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(
            unknown[0], f"is not a setting of this project; known keys: {', '.join(KNOWN_KEYS)}"
        )
    origins = _structured(values, "origins", list, required=True)
    overrides = _structured(values, "routes", dict)
    try:
        routing = derive_routing_table(
            origins,
            default_origin=_text(values, "defaultOrigin"),
            overrides=overrides,
            failover=_text(values, "failover"),
            failover_origin=_text(values, "failoverOrigin"),
            drained=_structured(values, "drained", list),
        )
    except RoutingError as error:
        raise ConfigError(_ROUTING_FIELD_KEYS[error.field], error.reason) from None

    engine = Engine(_choice(values, "engine", _ENGINES, Engine.LAMBDA_EDGE.value))
    next_engine = _next_engine(values, engine)
    origin_access = _origin_access(values, routing.origins, engine, next_engine)
    failover_status_codes = _failover_status_codes(values, routing)
    if engine is Engine.CLOUDFRONT_FUNCTIONS:
        try:
            render_function_code(routing, failover_status_codes)
        except FunctionTooLargeError as error:
            raise ConfigError("origins", f"{error}; use fewer origins") from None
    aliases = tuple(_aliases(values))
    certificate_arn = _certificate_arn(values, aliases)
    replication = _replication(values, routing.origins)
    return Settings(
        stack=stack,
        routing=routing,
        failover_status_codes=failover_status_codes,
        origin_access=origin_access,
        price_class=_choice(values, "priceClass", PRICE_CLASSES, DEFAULT_PRICE_CLASS),
        aliases=aliases,
        certificate_arn=certificate_arn,
        tags=MappingProxyType(_tags(values, stack)),
        replication=replication,
        replication_time_control=_replication_time_control(values, replication),
        origin_connection_attempts=_whole_number(
            values,
            "originConnectionAttempts",
            CONNECTION_ATTEMPTS_RANGE,
            DEFAULT_CONNECTION_ATTEMPTS,
        ),
        origin_connection_timeout=_whole_number(
            values,
            "originConnectionTimeout",
            CONNECTION_TIMEOUT_RANGE,
            DEFAULT_CONNECTION_TIMEOUT_SECONDS,
        ),
        log_retention_days=_log_retention_days(values),
        noncurrent_version_days=_whole_number(
            values, "noncurrentVersionDays", (1, 36_500), DEFAULT_NONCURRENT_VERSION_DAYS
        ),
        security_headers=_boolean(values, "securityHeaders", default=True),
        engine=engine,
        next_engine=next_engine,
        monitoring=_boolean(values, "monitoring", default=True),
        alarm_email=_alarm_email(values),
        alarm_error_rate_percent=_percent(values, "alarmErrorRatePercent"),
        alarm_evaluation_minutes=_whole_number(
            values, "alarmEvaluationMinutes", (1, 1440), DEFAULT_ALARM_EVALUATION_MINUTES
        ),
        alarm_error_count=_whole_number(
            values, "alarmErrorCount", (1, 1_000_000), DEFAULT_ALARM_ERROR_COUNT
        ),
        access_logs=_boolean(values, "accessLogs", default=False),
        access_log_days=_whole_number(
            values, "accessLogDays", (1, 36_500), DEFAULT_ACCESS_LOG_DAYS
        ),
        values=MappingProxyType(dict(values)),
    )


def load_settings() -> Settings:
    """The running stack's settings; a bad value stops the program with one line, no traceback."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    # Every key of the project's namespace, not only the known ones, so a misspelt key is an error
    # instead of a silently ignored setting.
    every_key = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    config = pulumi.Config(PROJECT)
    values = {
        key: value
        for namespaced in every_key
        if namespaced.startswith(f"{PROJECT}:")
        and (value := config.get(key := namespaced.partition(":")[2])) is not None
    }
    try:
        return parse_settings(values, stack=pulumi.get_stack())
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None


def _text(values: Mapping[str, str], key: str) -> str | None:
    value = values.get(key)
    return value if value else None


def _structured(
    values: Mapping[str, str],
    key: str,
    kind: type[list[Any] | dict[str, Any]],
    *,
    required: bool = False,
) -> Any:
    shape = (
        "a list, e.g. ['us-east-1', 'eu-central-1']"
        if kind is list
        else "a map, e.g. {'ap-south-1': 'eu-central-1'}"
    )
    raw = values.get(key)
    if raw is None:
        if required:
            raise ConfigError(
                key, f"is required: {shape} (pulumi config set --path '{PROJECT}:{key}[0]' ...)"
            )
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        # A scalar set with plain `pulumi config set` arrives as bare text.
        value = raw
    if kind is list and isinstance(value, str):
        raise ConfigError(
            key,
            f"{value!r} is not a list; set it as one: "
            f"pulumi config set --path '{PROJECT}:{key}[0]' {value}",
        )
    if not isinstance(value, kind):
        raise ConfigError(key, f"{value!r} is not {shape}")
    return value


def _whole_number(
    values: Mapping[str, str], key: str, bounds: tuple[int, int], default: int
) -> int:
    raw = values.get(key)
    if raw is None:
        return default
    low, high = bounds
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ConfigError(key, f"{raw!r} is not a whole number from {low} to {high}")
    return number


def _alarm_email(values: Mapping[str, str]) -> str | None:
    address = _text(values, "alarmEmail")
    if address is not None and not _EMAIL.match(address):
        raise ConfigError(
            "alarmEmail", f"{address!r} is not an email address such as ops@example.com"
        )
    return address


def _percent(values: Mapping[str, str], key: str) -> float:
    raw = values.get(key)
    if raw is None:
        return DEFAULT_ALARM_ERROR_RATE_PERCENT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 100:
        raise ConfigError(key, f"{raw!r} is not a percentage above 0 and at most 100")
    return value


def _log_retention_days(values: Mapping[str, str]) -> int:
    raw = values.get("logRetentionDays")
    if raw is None:
        return DEFAULT_LOG_RETENTION_DAYS
    accepted = ", ".join(map(str, LOG_RETENTION_DAYS))
    if not raw.isdigit() or int(raw) not in LOG_RETENTION_DAYS:
        raise ConfigError(
            "logRetentionDays", f"{raw!r} is not a retention CloudWatch Logs accepts: {accepted}"
        )
    return int(raw)


def _choice(values: Mapping[str, str], key: str, accepted: tuple[str, ...], default: str) -> str:
    value = values.get(key, default)
    if value not in accepted:
        raise ConfigError(key, f"{value!r} is not one of: {', '.join(accepted)}")
    return value


def _next_engine(values: Mapping[str, str], engine: Engine) -> Engine | None:
    raw = values.get("nextEngine")
    if raw is None:
        return None
    next_engine = Engine(_choice(values, "nextEngine", _ENGINES, engine.value))
    if next_engine is engine:
        raise ConfigError(
            "nextEngine",
            f"{raw!r} is already the engine; the switch is done, so remove it "
            f"(pulumi config rm {PROJECT}:nextEngine)",
        )
    return next_engine


def _origin_access(
    values: Mapping[str, str],
    origins: tuple[str, ...],
    engine: Engine,
    next_engine: Engine | None,
) -> OriginAccess:
    accepted = engine.origin_access
    raw = _choice(
        values, "originAccess", tuple(access.value for access in OriginAccess), accepted.value
    )
    # CloudFront developer guide, "Restrict access to an Amazon S3 origin", Notes: "OAC doesn't
    # support origin redirect by using Lambda@Edge"; the Lambda@Edge event documents authMethod and
    # region for OAI only. The origin-request function rewrites the origin, so OAI it is.
    if OriginAccess(raw) is OriginAccess.OAC and engine is Engine.LAMBDA_EDGE:
        raise ConfigError(
            "originAccess",
            "'oac' does not work when Lambda@Edge changes the origin (CloudFront developer guide: "
            "\"OAC doesn't support origin redirect by using Lambda@Edge\"); use 'oai' "
            f"(pulumi config rm {PROJECT}:originAccess). {_CLOUDFRONT_FUNCTIONS_ENGINE}",
        )
    # The origin modification helpers sign with the origin's own OAC, and OAI is legacy: it does
    # not work in Regions launched after December 2022 (same guide).
    if OriginAccess(raw) is OriginAccess.OAI and engine is Engine.CLOUDFRONT_FUNCTIONS:
        raise ConfigError(
            "originAccess",
            f"'oai' is not used by the {engine.value} engine, which signs every origin with origin "
            "access control (OAI is legacy and does not work in Regions launched after December "
            f"2022); use 'oac' (pulumi config rm {PROJECT}:originAccess)",
        )
    if Engine.LAMBDA_EDGE in (engine, next_engine):
        catalogue = load_catalogue()
        too_new = [code for code in origins if not catalogue[code].supports_oai]
        if too_new and engine is Engine.LAMBDA_EDGE:
            raise ConfigError(
                "origins",
                f"{', '.join(too_new)} launched after December 2022, where OAI does not work, and "
                "OAC does not work when Lambda@Edge changes the origin (CloudFront developer "
                f'guide, "Restrict access to an Amazon S3 origin"); remove it from origins. '
                + _CLOUDFRONT_FUNCTIONS_ENGINE,
            )
        if too_new:
            raise ConfigError(
                "nextEngine",
                f"{Engine.LAMBDA_EDGE.value!r} cannot serve {', '.join(too_new)}: OAI does not "
                "work in Regions launched after December 2022 and Lambda@Edge's rewrite supports "
                "no other access; remove them from origins first",
            )
    return accepted


def _failover_status_codes(values: Mapping[str, str], routing: RoutingTable) -> tuple[int, ...]:
    raw = values.get("failoverStatusCodes")
    if raw is None:
        return DEFAULT_FAILOVER_STATUS_CODES
    codes = _structured(values, "failoverStatusCodes", list)
    accepted = ", ".join(map(str, FAILOVER_STATUS_CODES_ALLOWED))
    if not codes:
        raise ConfigError("failoverStatusCodes", f"is empty; expected one or more of {accepted}")
    for code in codes:
        # JSON gives 503 or 503.0 for a number; a string or a fraction is a mistake to report.
        if isinstance(code, bool) or not isinstance(code, (int, float)) or code != int(code):
            raise ConfigError(
                "failoverStatusCodes",
                f"{code!r} is not an integer status code; expected {accepted}",
            )
        if int(code) not in FAILOVER_STATUS_CODES_ALLOWED:
            raise ConfigError(
                "failoverStatusCodes", f"{int(code)} cannot trigger failover; expected {accepted}"
            )
    chosen = tuple(sorted({int(code) for code in codes}))
    missing = [code for code in FAILOVER_STATUS_CODES_REQUIRED if code not in chosen]
    if missing and routing.failover_mode is not FailoverMode.OFF:
        raise ConfigError(
            "failoverStatusCodes",
            f"{list(chosen)} lacks {' and '.join(map(str, missing))}: CloudFront fails over from a "
            "Region it cannot connect to only when 503 is a failover code, and from one that times "
            'out only when 504 is (CloudFront developer guide, "Optimize high availability with '
            'CloudFront origin failover"); add '
            + ("them" if len(missing) > 1 else "it")
            + ", or set failover to off",
        )
    return chosen


def _aliases(values: Mapping[str, str]) -> list[str]:
    aliases = _structured(values, "aliases", list) or []
    for alias in aliases:
        if not isinstance(alias, str) or not _DOMAIN_NAME.match(alias):
            raise ConfigError(
                "aliases", f"{alias!r} is not a lowercase domain name such as cdn.example.com"
            )
    if len(set(aliases)) != len(aliases):
        raise ConfigError("aliases", f"{aliases!r} lists a domain name twice")
    return aliases


def _certificate_arn(values: Mapping[str, str], aliases: tuple[str, ...]) -> str | None:
    arn = _text(values, "certificateArn")
    if aliases and arn is None:
        raise ConfigError(
            "certificateArn",
            f"is required with aliases {list(aliases)}: CloudFront serves custom domain names "
            "only with an ACM certificate in us-east-1 that covers them",
        )
    if arn is None:
        return None
    match = _ACM_CERTIFICATE_ARN.match(arn)
    if not match:
        raise ConfigError(
            "certificateArn",
            f"{arn!r} is not an ACM certificate ARN "
            "(arn:aws:acm:us-east-1:<account>:certificate/<id>)",
        )
    if match.group(1) != "us-east-1":
        raise ConfigError(
            "certificateArn",
            f"{arn!r} is in {match.group(1)}; CloudFront only uses ACM certificates from us-east-1",
        )
    if not aliases:
        raise ConfigError(
            "certificateArn", "is set but aliases is empty; add the domain names it covers"
        )
    return arn


def _replication(values: Mapping[str, str], origins: tuple[str, ...]) -> Replication:
    default = Replication.MESH if len(origins) > 1 else Replication.OFF
    replication = Replication(
        _choice(values, "replication", tuple(r.value for r in Replication), default.value)
    )
    if replication is Replication.MESH and len(origins) < 2:
        raise ConfigError(
            "replication",
            f"'mesh' needs at least two origins, and only {origins[0]} has a bucket; "
            "use 'off' or add an origin",
        )
    return replication


def _boolean(values: Mapping[str, str], key: str, default: bool) -> bool:
    raw = values.get(key, "true" if default else "false")
    if raw not in ("true", "false"):
        raise ConfigError(key, f"{raw!r} is not true or false")
    return raw == "true"


def _replication_time_control(values: Mapping[str, str], replication: Replication) -> bool:
    enabled = _boolean(values, "replicationTimeControl", default=False)
    if enabled and replication is Replication.OFF:
        raise ConfigError(
            "replicationTimeControl",
            "is true but replication is 'off'; set replication to 'mesh' or this to false",
        )
    return enabled


def _tags(values: Mapping[str, str], stack: str) -> dict[str, str]:
    """The user's tags, checked against what IAM, S3, CloudFront and Lambda all accept (tagging
    best practices, "Tag naming limits and requirements"), plus the program's own."""
    tags = _structured(values, "tags", dict) or {}
    seen: dict[str, str] = {key.lower(): key for key in RESERVED_TAG_KEYS}
    room = MAX_TAGS_PER_RESOURCE - len(RESERVED_TAG_KEYS)
    if len(tags) > room:
        raise ConfigError(
            "tags",
            f"has {len(tags)} tags; AWS allows {MAX_TAGS_PER_RESOURCE} per resource and the "
            f"program adds {len(RESERVED_TAG_KEYS)} ({', '.join(RESERVED_TAG_KEYS)}): "
            f"at most {room}",
        )
    for key, value in tags.items():
        if not isinstance(value, str) or len(value) > 256 or not _TAG_TEXT.fullmatch(value):
            raise ConfigError(
                "tags",
                f"the value of {key!r}, {value!r}, is not text of at most 256 letters, digits, "
                f"spaces and {_TAG_PUNCTUATION}",
            )
        if (
            not 1 <= len(key) <= 128
            or not _TAG_TEXT.fullmatch(key)
            or key.lower().startswith("aws:")
        ):
            raise ConfigError(
                "tags",
                f"{key!r} is not a tag key: 1-128 letters, digits, spaces and {_TAG_PUNCTUATION}, "
                "not starting with 'aws:'",
            )
        twin = seen.get(key.lower())
        if twin in RESERVED_TAG_KEYS:
            raise ConfigError(
                "tags",
                f"{key!r} is set by the program itself (to the {twin} name); choose another key",
            )
        if twin is not None:
            raise ConfigError(
                "tags", f"{key!r} and {twin!r} are one key to IAM, which ignores case; keep one"
            )
        seen[key.lower()] = key
    return {**tags, "project": PROJECT, "stack": stack}
