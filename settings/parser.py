"""Stack settings: every config key read by its parser in ``settings.table``, then checked together,
into frozen typed objects.

``parse_settings`` is pure: it takes the raw strings the Pulumi CLI hands the program (structured
values as JSON text) and raises ``ConfigError`` naming the key, the bad value and what is accepted.
``load_settings`` reads them from the running stack. The local tools read stack files with
``settings.stack_file`` and pass them through ``project_values`` and ``parse_settings``, so they
report the same messages.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core.cloudfront import (
    FAILOVER_STATUS_CODES_REQUIRED,
)
from core.engine import Engine, OriginAccess
from core.evacuation import (
    EVACUATION_QUORUM,
    default_max_out,
)
from core.input_file import InputFileError, parse_json, read_input_text
from core.routing_state import RoutingStateLayout, routing_state_layout
from edge_function.cloudfront_function import FunctionTooLargeError, render_function_code
from routing.artifact import DEFAULT_MARKER_HEADER
from routing.catalogue import (
    describe_unknown_region,
    lambda_edge_execution_regions,
    load_catalogue,
)
from routing.latency import (
    LatencyError,
    LatencySnapshot,
    RoutingMetric,
    parse_snapshot,
)
from routing.table import FailoverMode, RoutingError, RoutingTable, derive_routing_table
from settings.table import (
    DEFAULT_LATENCY_FILE,
    KNOWN_KEYS,
    MAX_TAGS_PER_RESOURCE,
    PROJECT,
    PROJECT_ROOT,
    RESERVED_TAG_KEYS,
    SETTING,
    SETTINGS,
    ConfigError,
    Replication,
    shown,
)

# Namespaces a stack's config may hold besides this project's: the AWS provider's (aws:region,
# aws:defaultTags, ...) and the Pulumi CLI's own.
OTHER_NAMESPACES = ("aws", "pulumi")
# How alike a namespace must be to this project's to be taken for a misspelling of it
# (difflib's ratio: geoproximity and geo-proximty score 0.96).
_NAMESPACE_LIKENESS = 0.8

# Where the OAC-only cases are served from.
_CLOUDFRONT_FUNCTIONS_ENGINE = (
    "The CloudFront Functions engine signs with OAC and serves them "
    f"(pulumi config set {PROJECT}:engine {Engine.CLOUDFRONT_FUNCTIONS.value})"
)

# Routing inputs are named for Python in routing.table; users know them by their config keys.
_ROUTING_FIELD_KEYS = {
    "origins": "origins",
    "default_origin": "defaultOrigin",
    "overrides": "routes",
    "failover": "failover",
    "failover_origin": "failoverOrigin",
    "drained": "drained",
}


@dataclass(frozen=True)
class Settings:
    """A stack's settings, every one parsed by ``parse_settings`` (defaults live in
    ``settings.table``, once)."""

    stack: str
    routing: RoutingTable
    failover_status_codes: tuple[int, ...]
    price_class: str
    aliases: tuple[str, ...]
    certificate_arn: str | None
    tags: Mapping[str, str]
    replication: Replication
    replication_time_control: bool
    # How CloudFront signs its requests to the buckets follows: engine.origin_access.
    engine: Engine
    # The engine a switch is under way to: every bucket also grants its identity
    # (docs/engines.md, Switching engines).
    next_engine: Engine | None
    origin_connection_attempts: int
    origin_connection_timeout: int
    # The whole wait for a bucket's complete answer, every attempt included; 0: none enforced.
    origin_response_completion_timeout: int
    log_retention_days: int
    noncurrent_version_days: int
    security_headers: bool
    marker_header: str
    monitoring: bool
    alarm_email: str | None
    alarm_error_rate_percent: float
    alarm_evaluation_minutes: int
    alarm_error_count: int
    access_logs: bool
    access_log_days: int
    # The access logs' format; which formats cost extra: core.monitoring.ACCESS_LOG_FORMATS_CHARGED.
    access_log_format: str
    # Health checks that take a failing origin out of rotation by themselves (docs/evacuation.md).
    evacuation: bool
    evacuation_failures: int
    evacuation_recoveries: int
    evacuation_vantages: tuple[str, ...]
    # The most origins the health checks hold out at once (their blast radius).
    evacuation_max_out: int
    # What ranks the origins, and with latency the snapshot it read and the margin it applied.
    routing_metric: RoutingMetric
    latency_file: Path
    latency: LatencySnapshot | None
    latency_margin_ms: int
    # None (no web ACL), 'managed' (the program's), or the ARN of the operator's global web ACL.
    web_acl: str | None
    waf_rate_limit: int
    # The config values these settings were parsed from (key without namespace → CLI string), so
    # the tools can parse a variant (the drill drains an origin) with the same checks.
    values: Mapping[str, str]
    # The AWS provider's default tags (aws:defaultTags), which every resource carries too.
    default_tags: Mapping[str, str]
    # This project's keys whose values are secrets the local tools cannot decrypt, so unchecked.
    secrets: frozenset[str]

    @property
    def origins(self) -> tuple[str, ...]:
        return self.routing.origins

    def variant(self, changes: Mapping[str, str]) -> Settings:
        """These settings with some keys set otherwise (key without namespace -> CLI text), checked
        as the stack's own values were (the drill drains an origin this way)."""
        return parse_settings(
            {**self.values, **changes},
            stack=self.stack,
            default_tags=self.default_tags,
            secrets=self.secrets,
        )

    @property
    def routing_state(self) -> RoutingStateLayout | None:
        """Where the origins out of rotation are kept for the edge to read at run time; None with
        one origin, which is never out."""
        return routing_state_layout(
            project=PROJECT,
            stack=self.stack,
            engine=self.engine,
            origins=self.origins,
            evacuation=self.evacuation,
            vantages=self.evacuation_vantages,
            next_engine=self.next_engine,
        )

    @property
    def state_key(self) -> str | None:
        """The key value store key a CloudFront function reads the origins out of rotation from;
        None with Lambda@Edge or without a routing state."""
        layout = self.routing_state
        return layout.state_key if layout else None


def parse_settings(
    values: Mapping[str, str],
    *,
    stack: str,
    default_tags: Mapping[str, str] | None = None,
    secrets: frozenset[str] = frozenset(),
) -> Settings:
    """Validate the raw config ``values`` (key without namespace → CLI string) of ``stack``, with
    the AWS provider's ``default_tags``; ``secrets`` are keys set to values only the Pulumi CLI can
    decrypt, read as unset where the local tools can do without them."""
    _refuse_unknown_keys({*values, *secrets})
    _refuse_needed_secrets(secrets)
    # Each key alone first, by its own parser; then what the keys mean together.
    read = {setting.key: setting.read(values) for setting in SETTINGS}
    latency_file = latency_path(read["latencyFile"])
    latency = _latency_snapshot(read["routingMetric"], latency_file, stack)
    routing = _routing(read, latency)
    engine: Engine = read["engine"]
    next_engine = _next_engine(read["nextEngine"], engine)
    _confirm_origin_access(read["originAccess"], engine)
    _check_origins_have_access(routing.origins, engine, next_engine)
    failover_status_codes = _failover_status_codes(read["failoverStatusCodes"], routing)
    evacuation = _evacuation(read["evacuation"], routing.origins)
    vantages = _evacuation_vantages(read["evacuationVantages"], engine)
    if engine is Engine.CLOUDFRONT_FUNCTIONS:
        layout = routing_state_layout(
            project=PROJECT,
            stack=stack,
            engine=engine,
            origins=routing.origins,
            evacuation=evacuation,
            vantages=vantages,
        )
        state_key = layout.state_key if layout else None
        try:
            render_function_code(routing, failover_status_codes, state_key)
        except FunctionTooLargeError as error:
            raise ConfigError("origins", f"{error}; use fewer origins") from None
    aliases: tuple[str, ...] = read["aliases"] or ()
    replication = _replication(read["replication"], routing.origins)
    return Settings(
        stack=stack,
        routing=routing,
        failover_status_codes=failover_status_codes,
        price_class=read["priceClass"],
        aliases=aliases,
        certificate_arn=(
            read["certificateArn"]
            if {"aliases", "certificateArn"} & secrets
            else _certificate_arn(read["certificateArn"], aliases)
        ),
        tags=_tags(read["tags"], default_tags or {}, stack, checked="tags" not in secrets),
        replication=replication,
        replication_time_control=_replication_time_control(
            read["replicationTimeControl"], replication
        ),
        origin_connection_attempts=read["originConnectionAttempts"],
        origin_connection_timeout=read["originConnectionTimeout"],
        origin_response_completion_timeout=read["originResponseCompletionTimeout"],
        log_retention_days=read["logRetentionDays"],
        noncurrent_version_days=read["noncurrentVersionDays"],
        security_headers=read["securityHeaders"],
        engine=engine,
        next_engine=next_engine,
        monitoring=read["monitoring"],
        alarm_email=read["alarmEmail"],
        alarm_error_rate_percent=read["alarmErrorRatePercent"],
        alarm_evaluation_minutes=read["alarmEvaluationMinutes"],
        alarm_error_count=read["alarmErrorCount"],
        access_logs=read["accessLogs"],
        access_log_days=read["accessLogDays"],
        access_log_format=read["accessLogFormat"],
        evacuation=evacuation,
        evacuation_failures=read["evacuationFailures"],
        evacuation_recoveries=read["evacuationRecoveries"],
        evacuation_vantages=vantages,
        evacuation_max_out=_evacuation_max_out(read["evacuationMaxOut"], routing.origins),
        routing_metric=read["routingMetric"],
        latency_file=latency_file,
        latency=latency,
        latency_margin_ms=read["latencyMarginMs"],
        web_acl=read["webAcl"],
        marker_header=DEFAULT_MARKER_HEADER,
        waf_rate_limit=read["wafRateLimit"],
        values=MappingProxyType(dict(values)),
        default_tags=MappingProxyType(dict(default_tags or {})),
        secrets=secrets,
    )


def settings_from_config(
    config: Mapping[str, str], *, stack: str, secrets: frozenset[str] = frozenset()
) -> Settings:
    """The settings of a stack's whole config (namespaced key -> CLI text), as the program and the
    tools read it; ``secrets`` are the namespaced keys whose values only the CLI can decrypt."""
    for namespaced in secrets:
        _refuse_misplaced_key(namespaced)
    prefix = f"{PROJECT}:"
    return parse_settings(
        project_values(config),
        stack=stack,
        # A secret aws:defaultTags is not counted: the tools cannot see it.
        default_tags=provider_default_tags(config.get("aws:defaultTags")),
        secrets=frozenset(key.removeprefix(prefix) for key in secrets if key.startswith(prefix)),
    )


def provider_default_tags(raw: str | None) -> dict[str, str]:
    """The tags of ``aws:defaultTags`` (``{"tags": {KEY: VALUE}}``, the AWS provider's
    configuration reference), which the provider adds to every resource it tags."""
    if raw is None:
        return {}
    try:
        document = json.loads(raw)
    except ValueError:
        document = raw
    tags = document.get("tags", {}) if isinstance(document, dict) else None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ConfigError(
            "defaultTags",
            f"{shown(document)} is not a map holding a map of tags, e.g. "
            '{"tags": {"team": "cdn"}}',
            namespace="aws",
        )
    return tags


def _tags(
    tags: Mapping[str, str] | None, default_tags: Mapping[str, str], stack: str, *, checked: bool
) -> Mapping[str, str]:
    """The tags the program gives every resource, once the AWS provider's default tags and these
    together stay within AWS's limit per resource. A resource's own tag wins over a default tag
    of the same key ("resource tags take precedence": HashiCorp, "Default Tags in the Terraform
    AWS Provider", https://www.hashicorp.com/blog/default-tags-in-the-terraform-aws-provider; the
    Pulumi AWS provider is built from that provider), so a key in both counts once."""
    own = {**(tags or {}), "project": PROJECT, "stack": stack}
    carried = set(own) | set(default_tags)
    if checked and default_tags and len(carried) > MAX_TAGS_PER_RESOURCE:
        raise ConfigError(
            "tags" if tags else "defaultTags",
            f"with aws:defaultTags' {len(default_tags)} tag(s), {len(tags or {})} of "
            f"{PROJECT}:tags and the program's {len(RESERVED_TAG_KEYS)} "
            f"({', '.join(RESERVED_TAG_KEYS)}), every resource would carry {len(carried)} tags; "
            f"AWS allows {MAX_TAGS_PER_RESOURCE} per resource: drop "
            f"{len(carried) - MAX_TAGS_PER_RESOURCE}",
            namespace=PROJECT if tags else "aws",
        )
    return MappingProxyType(own)


def _refuse_needed_secrets(secrets: frozenset[str]) -> None:
    """A secret the local tools cannot do without: name it, and the way out."""
    needed = sorted(key for key in secrets if key in SETTING and not SETTING[key].secret_ok)
    if needed:
        raise ConfigError(
            needed[0],
            "is a secret (secure:), which only the Pulumi CLI can decrypt, and the local tools "
            "need its value; store it in plain text (pulumi config set without --secret: it is "
            "no secret once deployed), or check the stack with pulumi preview instead",
        )


def project_values(config: Mapping[str, str]) -> dict[str, str]:
    """This project's values (key without namespace → CLI string) from a stack's namespaced
    config, once no key meant for this project sits in another namespace and ``aws:region`` is a
    Region the catalogue knows."""
    for namespaced in config:
        _refuse_misplaced_key(namespaced)
    region = config.get("aws:region")
    if region is not None and region not in load_catalogue():
        raise ConfigError("region", describe_unknown_region(region), namespace="aws")
    prefix = f"{PROJECT}:"
    return {
        key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)
    }


def load_settings() -> Settings:
    """The running stack's settings; a bad value stops the program with one line, no traceback."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    # Every key the stack sets, in every namespace, so a misspelt key or namespace is an error
    # instead of a silently ignored setting.
    every_key = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    config = {
        key: value for key in every_key if isinstance(value := runtime_config.get_config(key), str)
    }
    try:
        return settings_from_config(config, stack=pulumi.get_stack())
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None


def _nearest_key(key: str) -> str | None:
    """The known key ``key`` is most likely a misspelling of, whatever its case."""
    by_lower = {known.lower(): known for known in KNOWN_KEYS}
    close = difflib.get_close_matches(key.lower(), by_lower, n=1)
    return by_lower[close[0]] if close else None


def _refuse_unknown_keys(values: Iterable[str]) -> None:
    unknown = sorted(set(values) - set(KNOWN_KEYS))
    if not unknown:
        return
    nearest = _nearest_key(unknown[0])
    hint = (
        f"did you mean {PROJECT}:{nearest}?" if nearest else f"known keys: {', '.join(KNOWN_KEYS)}"
    )
    raise ConfigError(unknown[0], f"is not a setting of this project; {hint}")


def _refuse_misplaced_key(namespaced: str) -> None:
    """Refuse a key that is one of ours, or whose namespace looks like ours, in a namespace that is
    neither this project's nor one it reads: the program would never see it."""
    namespace, separator, key = namespaced.partition(":")
    if not separator or namespace in (PROJECT, *OTHER_NAMESPACES):
        return
    likeness = difflib.SequenceMatcher(None, namespace.lower(), PROJECT).ratio()
    if key not in KNOWN_KEYS and likeness < _NAMESPACE_LIKENESS:
        return
    nearest = _nearest_key(key)
    hint = (
        f"did you mean {PROJECT}:{nearest}?"
        if nearest
        else f"and {shown(key)} is none of its keys: {', '.join(KNOWN_KEYS)}"
    )
    raise ConfigError(
        key,
        f"{shown(namespace)} is not this project's namespace ({PROJECT}); {hint}",
        namespace=namespace,
    )


def latency_path(configured: str | None) -> Path:
    """Where ``latencyFile`` points: a relative path is taken from the project directory, where
    the program runs at deploy time, not from wherever a tool was started."""
    path = Path(configured or DEFAULT_LATENCY_FILE)
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_snapshot(path: Path) -> LatencySnapshot:
    """The latency snapshot in ``path``; a one-line LatencyError naming the file when it is not
    one (the program reads it at deploy time, so it is read bounded: ``core.input_file``)."""
    try:
        text = read_input_text(path, what="latency snapshot")
        document = parse_json(text, where=str(path), what="latency snapshot")
    except InputFileError as error:
        raise LatencyError(str(error)) from None
    except json.JSONDecodeError as error:
        raise LatencyError(
            f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"
        ) from None
    try:
        return parse_snapshot(document)
    except LatencyError as error:
        raise LatencyError(f"{path}: {error}") from None


def _latency_snapshot(metric: RoutingMetric, path: Path, stack: str) -> LatencySnapshot | None:
    """The snapshot ``routingMetric: latency`` routes by; with ``distance`` no file is read."""
    if metric is RoutingMetric.DISTANCE:
        return None
    try:
        return load_snapshot(path)
    except LatencyError as error:
        raise ConfigError(
            "latencyFile",
            f"{error}, which routingMetric 'latency' routes by; run `./dev latency fetch "
            f"--stack {stack}` to write it (or set routingMetric to distance)",
        ) from None


def _routing(read: Mapping[str, Any], latency: LatencySnapshot | None) -> RoutingTable:
    try:
        return derive_routing_table(
            read["origins"],
            default_origin=read["defaultOrigin"],
            overrides=read["routes"],
            failover=read["failover"],
            failover_origin=read["failoverOrigin"],
            drained=read["drained"],
            metric=read["routingMetric"],
            latency=latency,
            margin_ms=read["latencyMarginMs"],
        )
    except RoutingError as error:
        raise ConfigError(_ROUTING_FIELD_KEYS[error.field], error.reason) from None


def _next_engine(next_engine: Engine | None, engine: Engine) -> Engine | None:
    if next_engine is engine:
        raise ConfigError(
            "nextEngine",
            f"{shown(next_engine.value)} is already the engine; the switch is done, so remove it "
            f"(pulumi config rm {PROJECT}:nextEngine)",
        )
    return next_engine


def _confirm_origin_access(confirmed: OriginAccess | None, engine: Engine) -> None:
    """``originAccess`` only confirms how the engine signs; the other access is refused."""
    if confirmed is None or confirmed is engine.origin_access:
        return
    # CloudFront developer guide, "Restrict access to an Amazon S3 origin", Notes: "OAC doesn't
    # support origin redirect by using Lambda@Edge"; the Lambda@Edge event documents authMethod and
    # region for OAI only. The origin-request function rewrites the origin, so OAI it is.
    if engine is Engine.LAMBDA_EDGE:
        raise ConfigError(
            "originAccess",
            "'oac' does not work when Lambda@Edge changes the origin (CloudFront developer guide: "
            "\"OAC doesn't support origin redirect by using Lambda@Edge\"); use 'oai' "
            f"(pulumi config rm {PROJECT}:originAccess). {_CLOUDFRONT_FUNCTIONS_ENGINE}",
        )
    # The origin modification helpers sign with the origin's own OAC, and OAI is legacy: it does
    # not work in Regions launched after December 2022 (same guide).
    raise ConfigError(
        "originAccess",
        f"'oai' is not used by the {engine.value} engine, which signs every origin with origin "
        "access control (OAI is legacy and does not work in Regions launched after December "
        f"2022); use 'oac' (pulumi config rm {PROJECT}:originAccess)",
    )


def _check_origins_have_access(
    origins: tuple[str, ...], engine: Engine, next_engine: Engine | None
) -> None:
    """Lambda@Edge reaches the buckets with OAI only, which Regions launched after December 2022
    do not support: refuse them while it is the engine or the one a switch goes to."""
    if Engine.LAMBDA_EDGE not in (engine, next_engine):
        return
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
            f"{shown(Engine.LAMBDA_EDGE.value)} cannot serve {', '.join(too_new)}: OAI does not "
            "work in Regions launched after December 2022 and Lambda@Edge's rewrite supports "
            "no other access; remove them from origins first",
        )


def _failover_status_codes(codes: tuple[int, ...], routing: RoutingTable) -> tuple[int, ...]:
    missing = [code for code in FAILOVER_STATUS_CODES_REQUIRED if code not in codes]
    if missing and routing.failover_mode is not FailoverMode.OFF:
        raise ConfigError(
            "failoverStatusCodes",
            f"{shown(list(codes))} lacks {' and '.join(map(str, missing))}: CloudFront fails over "
            "from a Region it cannot connect to only when 503 is a failover code, and from one "
            'that times out only when 504 is (CloudFront developer guide, "Optimize high '
            'availability with CloudFront origin failover"); add '
            + ("them" if len(missing) > 1 else "it")
            + ", or set failover to off",
        )
    return codes


def _certificate_arn(arn: str | None, aliases: tuple[str, ...]) -> str | None:
    if aliases and arn is None:
        raise ConfigError(
            "certificateArn",
            f"is required with aliases {shown(list(aliases))}: CloudFront serves custom domain "
            "names only with an ACM certificate in us-east-1 that covers them",
        )
    if arn is not None and not aliases:
        raise ConfigError(
            "certificateArn", "is set but aliases is empty; add the domain names it covers"
        )
    return arn


def _replication(chosen: Replication | None, origins: tuple[str, ...]) -> Replication:
    if chosen is None:
        return Replication.MESH if len(origins) > 1 else Replication.OFF
    if chosen is Replication.MESH and len(origins) < 2:
        raise ConfigError(
            "replication",
            f"'mesh' needs at least two origins, and only {origins[0]} has a bucket; "
            "use 'off' or add an origin",
        )
    return chosen


def _evacuation(chosen: bool | None, origins: tuple[str, ...]) -> bool:
    if chosen is None:
        return len(origins) > 1
    if chosen and len(origins) < 2:
        raise ConfigError(
            "evacuation",
            f"true needs at least two origins, and only {origins[0]} has a bucket: the last "
            "origin in rotation is never taken out; set it to false or add an origin",
        )
    return chosen


def _evacuation_max_out(chosen: int | None, origins: tuple[str, ...]) -> int:
    """The checks' blast radius: by default half the origins, rounded down, at least one; never
    every origin (the rotation is never left empty)."""
    if chosen is None:
        return default_max_out(len(origins))
    if len(origins) > 1 and chosen >= len(origins):
        raise ConfigError(
            "evacuationMaxOut",
            f"{chosen} would let the health checks take every one of the {len(origins)} origins "
            f"out of rotation; use 1 to {len(origins) - 1}",
        )
    return chosen


def _evacuation_vantages(codes: list[str], engine: Engine) -> tuple[str, ...]:
    """Two or more Regions the health checks run from: Regions every account has (not opt-in);
    with Lambda@Edge, Regions it runs in, where the routing state table has its replicas."""
    catalogue = load_catalogue()
    for code in codes:
        if code not in catalogue:
            raise ConfigError("evacuationVantages", describe_unknown_region(code))
        if catalogue[code].opt_in:
            raise ConfigError(
                "evacuationVantages",
                f"{code} is an opt-in Region, which an account may not have enabled; choose "
                "Regions every account has",
            )
        if engine is Engine.LAMBDA_EDGE and code not in lambda_edge_execution_regions():
            raise ConfigError(
                "evacuationVantages",
                f"{code} is not a Region where Lambda@Edge runs, where the {engine.value} engine "
                "keeps the routing state; choose among "
                + ", ".join(lambda_edge_execution_regions()),
            )
    if len(set(codes)) != len(codes):
        raise ConfigError("evacuationVantages", f"{shown(codes)} lists a Region twice")
    if len(codes) < EVACUATION_QUORUM:
        raise ConfigError(
            "evacuationVantages",
            f"{shown(codes)} has {len(codes)} Region(s); two must agree before an origin is "
            "taken out, so give two or more",
        )
    return tuple(codes)


def _replication_time_control(enabled: bool, replication: Replication) -> bool:
    if enabled and replication is Replication.OFF:
        raise ConfigError(
            "replicationTimeControl",
            "is true but replication is 'off'; set replication to 'mesh' or this to false",
        )
    return enabled
