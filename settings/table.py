"""Every config key of the project, declared once: its type, default, parser and description.

``KNOWN_KEYS``, the ``config`` section of ``Pulumi.yaml`` and the table in docs/configuration.md
all come from ``SETTINGS``. Each key's parser checks that key alone and raises ``ConfigError``
naming the key, the bad value and what is accepted; ``settings.parser.parse_settings`` then
checks what the keys mean together. After changing a row, regenerate both files:

    python -m settings.generator --write
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from core.buckets import ABORT_INCOMPLETE_UPLOAD_DAYS, DEFAULT_NONCURRENT_VERSION_DAYS
from core.cloudfront import (
    CONNECTION_ATTEMPTS_RANGE,
    CONNECTION_TIMEOUT_RANGE,
    DEFAULT_CONNECTION_ATTEMPTS,
    DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    DEFAULT_FAILOVER_STATUS_CODES,
    DEFAULT_PRICE_CLASS,
    DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS,
    FAILOVER_STATUS_CODES_ALLOWED,
    NO_RESPONSE_COMPLETION_TIMEOUT,
    PRICE_CLASSES,
    RESPONSE_COMPLETION_TIMEOUT_RANGE,
)
from core.engine import Engine, OriginAccess
from core.evacuation import (
    DEFAULT_EVACUATION_FAILURES,
    DEFAULT_EVACUATION_RECOVERIES,
    DEFAULT_EVACUATION_VANTAGES,
    EVACUATION_FAILURES_RANGE,
    EVACUATION_MAX_OUT_RANGE,
    EVACUATION_PROBE_SECONDS,
    EVACUATION_RECOVERIES_RANGE,
)
from core.monitoring import (
    ACCESS_LOG_FORMATS,
    ACCESS_LOG_FORMATS_CHARGED,
    DEFAULT_ACCESS_LOG_DAYS,
    DEFAULT_ACCESS_LOG_FORMAT,
    DEFAULT_ALARM_ERROR_COUNT,
    DEFAULT_ALARM_ERROR_RATE_PERCENT,
    DEFAULT_ALARM_EVALUATION_MINUTES,
    DEFAULT_LOG_RETENTION_DAYS,
    LOG_RETENTION_DAYS,
)
from core.text import first_unsafe, printable
from core.waf import (
    DEFAULT_WAF_RATE_LIMIT,
    WAF_RATE_LIMIT_RANGE,
    WAF_RATE_WINDOW_SECONDS,
    WEB_ACL_MANAGED,
)
from routing.latency import DEFAULT_MARGIN_MS, MARGIN_MS_RANGE, RoutingMetric

PROJECT = "geo-proximity"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = PROJECT_ROOT / "Pulumi.yaml"
CONFIGURATION_PAGE = PROJECT_ROOT / "docs" / "configuration.md"
# The page's generated table sits between these lines; the prose around it is written by hand.
TABLE_START = "<!-- settings:start -->"
TABLE_END = "<!-- settings:end -->"

# Where the latency snapshot lives unless `latencyFile` says otherwise (relative to PROJECT_ROOT).
DEFAULT_LATENCY_FILE = "latency.json"

# Tag keys every resource gets; user tags may not redefine them, in any case.
RESERVED_TAG_KEYS = ("project", "stack")
MAX_TAGS_PER_RESOURCE = 50
_TAG_PUNCTUATION = "_ . : / = + - @"
# Letters and digits of any script, spaces, and the punctuation above.
_TAG_TEXT = re.compile(f"[\\w {re.escape(_TAG_PUNCTUATION.replace(' ', ''))}]*")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_ACM_CERTIFICATE_ARN = re.compile(r"^arn:aws:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}\Z")
# Read before the whole ARN, so a certificate in the wrong Region is told so even when the rest of
# its ARN is mistyped as well.
_ARN_REGION = re.compile(r"^arn:[a-z-]+:acm:([a-z0-9-]+):")
# A web ACL CloudFront can use: AWS WAF (v2), scope CLOUDFRONT, which lives in us-east-1 and names
# itself "global" (CloudFront API reference, DistributionConfig.WebACLId: "use the ACL ARN, for
# example arn:aws:wafv2:us-east-1:123456789012:global/webacl/ExampleWebACL/<id>"); a name of 1-128
# letters, digits, '-' and '_', an id as AWS WAF makes them (API reference, WebACL: Name, Id).
_GLOBAL_WEB_ACL_ARN = re.compile(
    r"^arn:aws:wafv2:us-east-1:[0-9]{12}:global/webacl/[A-Za-z0-9_-]{1,128}/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
)
_WAF_ARN_PLACE = re.compile(r"^arn:[a-z-]+:wafv2:([a-z0-9-]*):[^:]*:([a-z]+)/")
_DOMAIN_NAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")


class ConfigError(ValueError):
    """A stack config value that cannot be used. The message names the key as users type it."""

    def __init__(self, key: str, reason: str, *, namespace: str = PROJECT) -> None:
        # The key as typed, escapes shown: an unknown key is quoted back from the stack file.
        super().__init__(f"{printable(namespace)}:{printable(key)}: {reason}")
        self.key = key


class Replication(StrEnum):
    # Every bucket replicates to every other one: a write to any Region reaches all.
    MESH = "mesh"
    # The buckets are filled by other means (the publish command with --all, a pipeline, ...).
    OFF = "off"


def shown(value: object) -> str:
    """``value`` as a message quotes it: text in quotes, anything else as the JSON it came as
    (``null``, ``true``, ``["a"]``, ``{"a": 1}``), never a Python repr such as None or {'a': 1}."""
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def cli_text(value: Any) -> str:
    """The text the CLI hands the program for a value: lists and maps as JSON, scalars as text."""
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    # A float as written in the file (settings.stack_file.WrittenFloat): 1e3, not 1000.0.
    written = getattr(value, "written", None)
    return written if isinstance(written, str) else str(value)


@dataclass(frozen=True)
class Kind:
    """What a key's value is: the docs' type column, how Pulumi.yaml declares it, and, for a list or
    a map, the shape messages describe."""

    label: str
    # Pulumi's project schema for it; None where the schema cannot type it (a fraction), or where no
    # key of the kind has a fixed default to declare (the maps).
    schema: Mapping[str, Any] | None
    shape: str = ""


TEXT = Kind("text", {"type": "string"})
WHOLE_NUMBER = Kind("whole number", {"type": "integer"})
FRACTION = Kind("number", None)
BOOLEAN = Kind("boolean", {"type": "boolean"})
REGION_LIST = Kind(
    "list of Region codes",
    {"type": "array", "items": {"type": "string"}},
    'a list of Region codes, e.g. ["us-east-1", "eu-central-1"]',
)
STATUS_CODE_LIST = Kind(
    "list of status codes",
    {"type": "array", "items": {"type": "integer"}},
    "a list of status codes, e.g. [503, 504]",
)
DOMAIN_NAME_LIST = Kind(
    "list of domain names",
    {"type": "array", "items": {"type": "string"}},
    'a list of domain names, e.g. ["cdn.example.com"]',
)
REGION_MAP = Kind(
    "map of Region code to Region code",
    None,
    'a map of edge Region to origin Region, e.g. {"ap-south-1": "eu-central-1"}',
)
TAG_MAP = Kind("map of text to text", None, 'a map of tag key to value, e.g. {"team": "cdn"}')

# (key as users type it, raw CLI text) -> the value; a ConfigError for a value the key never takes.
Parser = Callable[[str, str], Any]


@dataclass(frozen=True)
class Setting:
    """One config key: what the program, Pulumi.yaml and the docs say about it."""

    key: str
    kind: Kind
    parse: Parser
    # One line, for Pulumi.yaml and the docs' table.
    description: str
    # As Pulumi.yaml declares it; None when there is none or it follows other keys (see below).
    default: Any = None
    # How the docs state a default that follows other keys.
    computed_default: str = ""
    required: bool = False
    # A value no local tool needs (what is deployed depends on it, not what ./dev computes): a stack
    # may keep it secret (pulumi config set --secret), and the tools then leave it unchecked.
    secret_ok: bool = False

    def read(self, values: Mapping[str, str]) -> Any:
        """The value in ``values`` (key without namespace → CLI text), else the default, parsed."""
        raw = values.get(self.key)
        if raw is None and self.required:
            raise ConfigError(
                self.key,
                f"is required: {self.kind.shape} "
                f"(pulumi config set --path '{PROJECT}:{self.key}[0]' ...)",
            )
        if raw is None:
            return None if self.default is None else self.parse(self.key, cli_text(self.default))
        return self.parse(self.key, raw)

    @property
    def project_file_declaration(self) -> dict[str, Any] | None:
        """How Pulumi.yaml declares the key; None where it does not. The CLI makes a declared key
        without a default required, so only a required key is declared without one."""
        if self.kind.schema is None or not (self.required or self.default is not None):
            return None
        default = {} if self.default is None else {"default": self.default}
        return {**self.kind.schema, "description": self.description, **default}

    @property
    def documented_default(self) -> str:
        if self.required:
            return "required"
        if self.default is not None:
            return f"`{cli_text(self.default)}`"
        return self.computed_default or "none"


def _text(key: str, raw: str) -> str | None:
    # An empty value counts as unset.
    return raw or None


def _one_of(choices: type[StrEnum] | Sequence[str]) -> Parser:
    accepted = [str(choice) for choice in choices]

    def parse(key: str, raw: str) -> Any:
        if raw not in accepted:
            raise ConfigError(key, f"{shown(raw)} is not one of: {', '.join(accepted)}")
        return choices(raw) if isinstance(choices, type) else raw

    return parse


def _boolean(key: str, raw: str) -> bool:
    if raw not in ("true", "false"):
        raise ConfigError(key, f"{shown(raw)} is not true or false")
    return raw == "true"


def _whole_number(bounds: tuple[int, int]) -> Parser:
    low, high = bounds

    def parse(key: str, raw: str) -> int:
        try:
            number = int(raw)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise ConfigError(key, f"{shown(raw)} is not a whole number from {low} to {high}")
        return number

    return parse


def _percent(key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 100:
        raise ConfigError(key, f"{shown(raw)} is not a percentage above 0 and at most 100")
    return value


def _log_retention_days(key: str, raw: str) -> int:
    if not raw.isdigit() or int(raw) not in LOG_RETENTION_DAYS:
        accepted = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ConfigError(
            key, f"{shown(raw)} is not a retention CloudWatch Logs accepts: {accepted}"
        )
    return int(raw)


def _email(key: str, raw: str) -> str | None:
    if raw and (not _EMAIL.match(raw) or first_unsafe(raw)):
        raise ConfigError(
            key,
            f"{printable(shown(raw))} is not an email address such as ops@example.com (one line "
            "of text, no control characters)",
        )
    return raw or None


def _structured(key: str, raw: str, kind: Kind, container: type[list[Any] | dict[str, Any]]) -> Any:
    """A list or map given as JSON; a scalar set with plain `pulumi config set` arrives as text."""
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if container is list and isinstance(value, str):
        raise ConfigError(
            key,
            f"{shown(value)} is not a list; set it as one: "
            f"pulumi config set --path '{PROJECT}:{key}[0]' {value}",
        )
    if not isinstance(value, container):
        raise ConfigError(key, f"{shown(value)} is not {kind.shape}")
    return value


def _region_list(key: str, raw: str) -> list[str]:
    codes: list[Any] = _structured(key, raw, REGION_LIST, list)
    # Which codes are Regions, and which have a bucket, the routing table checks.
    for code in codes:
        if not isinstance(code, str):
            raise ConfigError(
                key, f"{shown(code)} is not a Region code; expected {REGION_LIST.shape}"
            )
    return codes


def _region_map(key: str, raw: str) -> dict[str, str]:
    routes: dict[str, Any] = _structured(key, raw, REGION_MAP, dict)
    for edge, origin in routes.items():
        if not isinstance(origin, str):
            raise ConfigError(
                key,
                f"the route for {shown(edge)}, {shown(origin)}, is not a Region code; "
                f"expected {REGION_MAP.shape}",
            )
    return routes


def _status_codes(key: str, raw: str) -> tuple[int, ...]:
    codes: list[Any] = _structured(key, raw, STATUS_CODE_LIST, list)
    accepted = ", ".join(map(str, FAILOVER_STATUS_CODES_ALLOWED))
    if not codes:
        raise ConfigError(key, f"is empty; expected one or more of {accepted}")
    for code in codes:
        # JSON gives 503 or 503.0 for a number; a string or a fraction is a mistake to report.
        if isinstance(code, bool) or not isinstance(code, int | float) or code != int(code):
            raise ConfigError(
                key, f"{shown(code)} is not an integer status code; expected {accepted}"
            )
        if int(code) not in FAILOVER_STATUS_CODES_ALLOWED:
            raise ConfigError(key, f"{int(code)} cannot trigger failover; expected {accepted}")
    return tuple(sorted({int(code) for code in codes}))


def _domain_names(key: str, raw: str) -> tuple[str, ...]:
    names: list[Any] = _structured(key, raw, DOMAIN_NAME_LIST, list)
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not _DOMAIN_NAME.match(name):
            raise ConfigError(
                key, f"{shown(name)} is not a lowercase domain name such as cdn.example.com"
            )
        if name in seen:
            raise ConfigError(key, f"{shown(name)} is listed twice")
        seen.add(name)
    return tuple(names)


def _certificate_arn(key: str, raw: str) -> str | None:
    if not raw:
        return None
    region = _ARN_REGION.match(raw)
    if region and region.group(1) != "us-east-1":
        raise ConfigError(
            key,
            f"{shown(raw)} is in {region.group(1)}; the certificate must be in us-east-1, the only "
            "Region whose ACM certificates CloudFront uses",
        )
    if not _ACM_CERTIFICATE_ARN.match(raw):
        raise ConfigError(
            key,
            f"{shown(raw)} is not an ACM certificate ARN "
            "(arn:aws:acm:us-east-1:<account>:certificate/<id>)",
        )
    return raw


def _web_acl(key: str, raw: str) -> str | None:
    """None (no web ACL), 'managed', or the ARN of a web ACL CloudFront can use."""
    if not raw or raw == WEB_ACL_MANAGED:
        return raw or None
    expected = (
        f"'{WEB_ACL_MANAGED}' or the ARN of a global (CloudFront-scope) web ACL, "
        "arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>"
    )
    place = _WAF_ARN_PLACE.match(raw)
    if place and (place.group(1) != "us-east-1" or place.group(2) != "global"):
        # A regional web ACL (scope REGIONAL, an ARN with regional/webacl) protects load balancers
        # and APIs, never a distribution; CloudFront's live in us-east-1 and are global.
        raise ConfigError(
            key,
            f"{shown(raw)} is a {place.group(2)} web ACL in {place.group(1) or 'no Region'}, which "
            f"CloudFront cannot use; expected {expected}",
        )
    if not _GLOBAL_WEB_ACL_ARN.match(raw):
        raise ConfigError(key, f"{shown(raw)} is not {expected}")
    return raw


def _tags(key: str, raw: str) -> dict[str, str]:
    """The user's tags, checked against what IAM, S3, CloudFront and Lambda all accept (tagging
    best practices, "Tag naming limits and requirements")."""
    tags: dict[str, Any] = _structured(key, raw, TAG_MAP, dict)
    seen: dict[str, str] = {name.lower(): name for name in RESERVED_TAG_KEYS}
    room = MAX_TAGS_PER_RESOURCE - len(RESERVED_TAG_KEYS)
    if len(tags) > room:
        raise ConfigError(
            key,
            f"has {len(tags)} tags; AWS allows {MAX_TAGS_PER_RESOURCE} per resource and the "
            f"program adds {len(RESERVED_TAG_KEYS)} ({', '.join(RESERVED_TAG_KEYS)}): "
            f"at most {room}",
        )
    for name, value in tags.items():
        if not isinstance(value, str) or len(value) > 256 or not _TAG_TEXT.fullmatch(value):
            raise ConfigError(
                key,
                f"the value of {shown(name)}, {shown(value)}, is not text of at most 256 letters, "
                f"digits, spaces and {_TAG_PUNCTUATION}",
            )
        if (
            not 1 <= len(name) <= 128
            or not _TAG_TEXT.fullmatch(name)
            or name.lower().startswith("aws:")
        ):
            raise ConfigError(
                key,
                f"{shown(name)} is not a tag key: 1-128 letters, digits, spaces and "
                f"{_TAG_PUNCTUATION}, not starting with 'aws:'",
            )
        twin = seen.get(name.lower())
        if twin in RESERVED_TAG_KEYS:
            raise ConfigError(
                key,
                f"{shown(name)} is set by the program itself (to the {twin} name); "
                "choose another key",
            )
        if twin is not None:
            raise ConfigError(
                key,
                f"{shown(name)} and {shown(twin)} are one key to IAM, which ignores case; keep one",
            )
        seen[name.lower()] = name
    return tags


def _completion_timeout(key: str, raw: str) -> int:
    low, high = RESPONSE_COMPLETION_TIMEOUT_RANGE
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or not (number == NO_RESPONSE_COMPLETION_TIMEOUT or low <= number <= high):
        raise ConfigError(
            key,
            f"{shown(raw)} is not a whole number from {low} to {high}, or "
            f"{NO_RESPONSE_COMPLETION_TIMEOUT} for none (at least {low}: S3 origins' response "
            "timeout, which CloudFront requires it to be no less than)",
        )
    return number


def _from_to(bounds: tuple[int, int]) -> str:
    return f"{bounds[0]}-{bounds[1]}"


_DAYS = (1, 36_500)
_ALARM_MINUTES = (1, 1440)
_ALARM_COUNT = (1, 1_000_000)

SETTINGS = (
    Setting(
        "engine",
        TEXT,
        _one_of(Engine),
        "Where the routing runs: `lambda-edge` (an origin-request function on cache misses; "
        "buckets reached with an origin access identity) or `cloudfront-functions` (a "
        "viewer-request function on every request; every bucket an origin of the distribution, "
        "signed with origin access control)",
        default=Engine.LAMBDA_EDGE.value,
    ),
    Setting(
        "nextEngine",
        TEXT,
        _one_of(Engine),
        "The other engine while a switch is under way: every bucket also grants its identity and "
        "the routing state's table keeps its replicas, so no step serves a 403 or takes a replica "
        "from running code; set it to the new engine, then to the old one with `engine`, then "
        "remove it (see Switching engines)",
    ),
    Setting(
        "origins",
        REGION_LIST,
        _region_list,
        "Region codes that get a bucket (active-active), in preference order (it breaks distance "
        "ties); with `lambda-edge`, not the Regions launched after December 2022 (see "
        "`originAccess`); with `cloudfront-functions`, any Region",
        required=True,
    ),
    Setting(
        "defaultOrigin",
        TEXT,
        _text,
        "The origin for Region codes the catalogue does not know; also the origin group's primary "
        "member (`lambda-edge`) or the default cache behaviour's origin (`cloudfront-functions`)",
        computed_default="the first of `origins` in rotation",
    ),
    Setting(
        "routes",
        REGION_MAP,
        _region_map,
        "Edge Region → origin Region, overriding nearest-origin routing (and `routingMetric`)",
    ),
    Setting(
        "routingMetric",
        TEXT,
        _one_of(RoutingMetric),
        "What ranks the origins of each edge Region, primary and failover: `distance` "
        "(great-circle) or `latency` (the measured round trips of `latencyFile` where it holds "
        "the pair, distance where it does not; `./dev latency fetch` writes it)",
        default=RoutingMetric.DISTANCE.value,
    ),
    Setting(
        "latencyFile",
        TEXT,
        _text,
        "The latency snapshot `routingMetric: latency` reads: a relative path from the project "
        "directory, an absolute one as it is; read by the program at deploy time, so keep it in "
        "the project and commit it",
        default=DEFAULT_LATENCY_FILE,
    ),
    Setting(
        "latencyMarginMs",
        WHOLE_NUMBER,
        _whole_number(MARGIN_MS_RANGE),
        "With `routingMetric: latency`, an edge Region leaves its nearest origin by distance only "
        "for one measured at least this many ms faster (round trip), "
        + _from_to(MARGIN_MS_RANGE)
        + ", so that routing does not change between snapshots over noise",
        default=DEFAULT_MARGIN_MS,
    ),
    Setting(
        "drained",
        REGION_LIST,
        _region_list,
        "Origins out of rotation: each keeps its bucket, policy and replication, but no request is "
        "routed to it, as primary or failover. `pulumi up` writes it to the routing state, which "
        "the running code reads, then publishes code that carries it, so no edge routes there "
        "even when it cannot read the state; any origin may be drained, the default and the "
        "failover origin included; at least one stays in rotation",
    ),
    Setting(
        "failover",
        TEXT,
        _text,
        "`ranked`: a failover request goes to the next-nearest bucket of the edge Region, never "
        "back to the one that failed; `fixed`: it goes to `failoverOrigin` (the post's "
        "behaviour); `off`: no failover. With `cloudfront-functions` each request gets its own "
        "group of [primary, that bucket]",
        computed_default="`ranked` with 2+ origins, `off` with one",
    ),
    Setting(
        "failoverOrigin",
        TEXT,
        _text,
        "Where `fixed` failover goes: the origin group's secondary member (ignored when "
        "`failover` is `off`)",
        computed_default="the origin nearest `defaultOrigin` (by `routingMetric`)",
    ),
    Setting(
        "failoverStatusCodes",
        STATUS_CODE_LIST,
        _status_codes,
        "Origin status codes that fail over: any of "
        + ", ".join(map(str, FAILOVER_STATUS_CODES_ALLOWED))
        + "; with failover on they must include 503 and 504. The default's 403 and 404 also "
        "cover objects not yet replicated",
        default=list(DEFAULT_FAILOVER_STATUS_CODES),
    ),
    Setting(
        "originConnectionAttempts",
        WHOLE_NUMBER,
        _whole_number(CONNECTION_ATTEMPTS_RANGE),
        "Times CloudFront tries to connect to a bucket before it fails over, "
        + _from_to(CONNECTION_ATTEMPTS_RANGE),
        default=DEFAULT_CONNECTION_ATTEMPTS,
    ),
    Setting(
        "originConnectionTimeout",
        WHOLE_NUMBER,
        _whole_number(CONNECTION_TIMEOUT_RANGE),
        "Seconds CloudFront waits for each connection, " + _from_to(CONNECTION_TIMEOUT_RANGE),
        default=DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    ),
    Setting(
        "originResponseCompletionTimeout",
        WHOLE_NUMBER,
        _completion_timeout,
        "Seconds within which a bucket's complete answer must arrive, every attempt included, or "
        "CloudFront ends the connection (whether it then fails over is not documented: count on "
        "an error for that miss); it also ends any download slower than it, so set it above your "
        "largest object's transfer time; 0 (the default) for no limit, a stalled Region then "
        "holding each miss attempts x 30 s before failover; "
        + _from_to(RESPONSE_COMPLETION_TIMEOUT_RANGE)
        + " or 0",
        default=DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS,
    ),
    Setting(
        "originAccess",
        TEXT,
        _one_of(OriginAccess),
        "A confirmation only, not stored: the engine decides how CloudFront signs (`lambda-edge`: "
        "`oai`; `cloudfront-functions`: `oac`); the engine's own value is accepted, the other "
        "refused",
        computed_default="`oai` or `oac` by engine",
    ),
    Setting(
        "priceClass",
        TEXT,
        _one_of(PRICE_CLASSES),
        "CloudFront price class: " + ", ".join(f"`{name}`" for name in PRICE_CLASSES),
        default=DEFAULT_PRICE_CLASS,
    ),
    Setting(
        "aliases",
        DOMAIN_NAME_LIST,
        _domain_names,
        "Custom domain names of the distribution (needs `certificateArn`)",
        secret_ok=True,
    ),
    Setting(
        "certificateArn",
        TEXT,
        _certificate_arn,
        "ACM certificate in us-east-1 covering `aliases`; served `sni-only` with minimum protocol "
        "`TLSv1.2_2021`",
        secret_ok=True,
    ),
    Setting(
        "tags",
        TAG_MAP,
        _tags,
        "Applied to every taggable resource; "
        + " and ".join(f"`{name}`" for name in RESERVED_TAG_KEYS)
        + " are added by the program. Checked as AWS checks them: at most "
        f"{MAX_TAGS_PER_RESOURCE - len(RESERVED_TAG_KEYS)} ({MAX_TAGS_PER_RESOURCE} per resource "
        "with the program's own; tags from `aws:defaultTags` count too), keys of 1-128 and values "
        f"of up to 256 letters, digits, spaces and `{_TAG_PUNCTUATION}`, no `aws:` prefix, no two "
        "keys equal but for case (IAM ignores case)",
        secret_ok=True,
    ),
    Setting(
        "webAcl",
        TEXT,
        _web_acl,
        f"An AWS WAF web ACL in front of the distribution: `{WEB_ACL_MANAGED}` declares one (scope "
        "`CLOUDFRONT`, in us-east-1) with AWS's IP reputation list, known bad inputs and core rule "
        "set and a rate limit per client IP (`wafRateLimit`), its metrics on the dashboard; or the "
        "ARN of your own global web ACL (`arn:aws:wafv2:us-east-1:<account>:global/webacl/...`), "
        "attached as it is",
    ),
    Setting(
        "wafRateLimit",
        WHOLE_NUMBER,
        _whole_number(WAF_RATE_LIMIT_RANGE),
        f"With `webAcl: {WEB_ACL_MANAGED}`: requests one client IP may make in "
        f"{WAF_RATE_WINDOW_SECONDS // 60} minutes before AWS WAF blocks it until its rate falls, "
        f"{WAF_RATE_LIMIT_RANGE[0]:,}-{WAF_RATE_LIMIT_RANGE[1]:,} (AWS WAF's accepted range)",
        default=DEFAULT_WAF_RATE_LIMIT,
    ),
    Setting(
        "securityHeaders",
        BOOLEAN,
        _boolean,
        "Attach CloudFront's managed `SecurityHeadersPolicy` (HSTS, "
        "`X-Content-Type-Options: nosniff`, `X-Frame-Options`, `Referrer-Policy`, "
        "`X-XSS-Protection`) to every response",
        default=True,
    ),
    Setting(
        "logRetentionDays",
        WHOLE_NUMBER,
        _log_retention_days,
        "Days CloudWatch keeps the routing function's logs (Lambda@Edge's in every Region where it "
        "runs, the CloudFront function's in us-east-1): one of "
        + ", ".join(map(str, LOG_RETENTION_DAYS)),
        default=DEFAULT_LOG_RETENTION_DAYS,
    ),
    Setting(
        "noncurrentVersionDays",
        WHOLE_NUMBER,
        _whole_number(_DAYS),
        "Days S3 keeps an overwritten or deleted object version before it expires, "
        f"{_from_to(_DAYS)} (every bucket also aborts uploads left incomplete for "
        f"{ABORT_INCOMPLETE_UPLOAD_DAYS} days)",
        default=DEFAULT_NONCURRENT_VERSION_DAYS,
    ),
    Setting(
        "replication",
        TEXT,
        _one_of(Replication),
        "`mesh`: every bucket replicates to every other one; `off`: you fill the buckets yourself "
        "(`./dev publish --all`)",
        computed_default="`mesh` with 2+ origins, `off` with one",
    ),
    Setting(
        "replicationTimeControl",
        BOOLEAN,
        _boolean,
        "`true` adds S3 Replication Time Control (15-minute SLA for 99.99% of objects, with "
        "metrics; extra cost) to every replication rule",
        default=False,
    ),
    Setting(
        "monitoring",
        BOOLEAN,
        _boolean,
        "Alarms in every Region where their metrics live, a topic per Region and one dashboard; "
        "`false` removes them all",
        default=True,
    ),
    Setting(
        "alarmEmail",
        TEXT,
        _email,
        "An address subscribed to every Region's alarm topic (each subscription is confirmed by a "
        "mail of its own)",
        secret_ok=True,
    ),
    Setting(
        "alarmErrorRatePercent",
        FRACTION,
        _percent,
        "The viewer 5xx error rate (%), above 0 and at most 100, that raises the alarm when it is "
        "exceeded in each of `alarmEvaluationMinutes` consecutive minutes",
        default=DEFAULT_ALARM_ERROR_RATE_PERCENT,
    ),
    Setting(
        "alarmEvaluationMinutes",
        WHOLE_NUMBER,
        _whole_number(_ALARM_MINUTES),
        "Minutes a rate must stay above its threshold; the window over which errors, throttles "
        f"and failed replications are counted, {_from_to(_ALARM_MINUTES)}",
        default=DEFAULT_ALARM_EVALUATION_MINUTES,
    ),
    Setting(
        "alarmErrorCount",
        WHOLE_NUMBER,
        _whole_number(_ALARM_COUNT),
        "Routing function errors or throttles, or failed replications, within the window that "
        f"raise an alarm, {_from_to(_ALARM_COUNT)}",
        default=DEFAULT_ALARM_ERROR_COUNT,
    ),
    Setting(
        "accessLogs",
        BOOLEAN,
        _boolean,
        "CloudFront standard logs (v2) into a private log bucket in the stack's home Region "
        "(`aws:region`)",
        default=False,
    ),
    Setting(
        "accessLogDays",
        WHOLE_NUMBER,
        _whole_number(_DAYS),
        f"Days the log bucket keeps each access log, {_from_to(_DAYS)}",
        default=DEFAULT_ACCESS_LOG_DAYS,
    ),
    Setting(
        "accessLogFormat",
        TEXT,
        _one_of(ACCESS_LOG_FORMATS),
        "The access logs' format: "
        + ", ".join(f"`{name}`" for name in ACCESS_LOG_FORMATS)
        + "; delivery to S3 costs nothing in any of them but "
        + ", ".join(f"`{name}`" for name in sorted(ACCESS_LOG_FORMATS_CHARGED))
        + ", a conversion CloudWatch bills per GB",
        default=DEFAULT_ACCESS_LOG_FORMAT,
    ),
    Setting(
        "evacuation",
        BOOLEAN,
        _boolean,
        "Health checks of every origin from several vantage Regions that take a failing Region "
        "out of rotation, and bring it back, by themselves; `false` removes them all",
        computed_default="`true` with 2+ origins, `false` with one",
    ),
    Setting(
        "evacuationFailures",
        WHOLE_NUMBER,
        _whole_number(EVACUATION_FAILURES_RANGE),
        f"Failed probes in a row ({EVACUATION_PROBE_SECONDS} s apart), seen by two vantage "
        f"Regions, that take an origin out of rotation, {_from_to(EVACUATION_FAILURES_RANGE)}",
        default=DEFAULT_EVACUATION_FAILURES,
    ),
    Setting(
        "evacuationRecoveries",
        WHOLE_NUMBER,
        _whole_number(EVACUATION_RECOVERIES_RANGE),
        f"Good probes in a row ({EVACUATION_PROBE_SECONDS} s apart), seen by two vantage Regions, "
        f"that bring an evacuated origin back, {_from_to(EVACUATION_RECOVERIES_RANGE)}",
        default=DEFAULT_EVACUATION_RECOVERIES,
    ),
    Setting(
        "evacuationMaxOut",
        WHOLE_NUMBER,
        _whole_number(EVACUATION_MAX_OUT_RANGE),
        "The most origins the health checks hold out of rotation at once (their blast radius), "
        "fewer than the origins; past it they hold the others in and raise the `checks-held` "
        "alarm",
        computed_default="half the origins, rounded down, at least 1",
    ),
    Setting(
        "evacuationVantages",
        REGION_LIST,
        _region_list,
        "Regions the health checks run from, two or more (two must agree); with `lambda-edge` "
        "Regions where Lambda@Edge runs, since the routing state is kept there",
        default=list(DEFAULT_EVACUATION_VANTAGES),
    ),
)
KNOWN_KEYS = tuple(setting.key for setting in SETTINGS)
SETTING = {setting.key: setting for setting in SETTINGS}
