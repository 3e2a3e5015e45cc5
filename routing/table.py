"""Derive where every edge Region sends a cache miss: the nearest origin, and where it fails over.

Pure functions over the Region catalogue; nothing here knows about Pulumi or AWS APIs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from types import MappingProxyType

from routing.catalogue import Region, describe_unknown_region, load_catalogue, rank_origins
from routing.latency import DEFAULT_MARGIN_MS, LatencySnapshot, RoutingMetric, latency_ranking


class FailoverMode(StrEnum):
    # Failover requests go to the edge Region's next-nearest origin, never back to the failed one.
    RANKED = "ranked"
    # Failover requests are left alone and reach the origin group's secondary member (the seed
    # post's intent).
    FIXED = "fixed"
    # No origin group: a failing origin is a failing request.
    OFF = "off"


class RoutingError(ValueError):
    """Invalid routing input; ``field`` names the input, for callers to map to their key names."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Route:
    primary: str
    failover: str | None


def choose(
    ranking: Sequence[str],
    out: Collection[str],
    mode: FailoverMode,
    fixed_failover: str | None,
    drained: Collection[str] = (),
) -> Route:
    """Where a request goes, given an edge's ranking of every origin, the origins the run-time
    state puts out of rotation (``out``) and those the deployed code drains (``drained``): the
    first in rotation, and its failover (``ranked``: the next in rotation; ``fixed``:
    ``fixed_failover`` unless it is out). When ``out`` and ``drained`` together leave nothing,
    ``out`` is ignored: failing open serves from the nearest bucket not drained rather than from
    none, and a drain is never undone by it (it fails safe). Only when every origin is drained,
    which the settings refuse, is none out. Both engines' edge code and the sandbox choose
    exactly so (the tests hold them to this function)."""
    in_rotation = [code for code in ranking if code not in out and code not in drained]
    if not in_rotation:
        out = drained
        in_rotation = [code for code in ranking if code not in drained]
    if not in_rotation:
        in_rotation, out = list(ranking), ()
    primary = in_rotation[0]
    if mode is FailoverMode.RANKED:
        return Route(primary, next((code for code in in_rotation if code != primary), None))
    if (
        mode is FailoverMode.FIXED
        and fixed_failover is not None
        and fixed_failover not in out
        and fixed_failover not in drained
    ):
        return Route(primary, fixed_failover)
    return Route(primary, None)


@dataclass(frozen=True)
class RoutingTable:
    origins: tuple[str, ...]
    default_origin: str
    failover_mode: FailoverMode
    # The origin group's secondary member and fixed failover's target; None when failover is off.
    failover_origin: str | None
    # Every origin, best first, for every Region in the catalogue (catalogue order): a pinned
    # origin first, then the others nearest first. What the edge code carries; the routing state
    # (which origins are out of rotation) is applied to it at run time.
    rankings: Mapping[str, tuple[str, ...]]
    # For Region codes the catalogue does not know (AWS adds Regions): from the default origin.
    default_ranking: tuple[str, ...]
    # Edge Regions whose first origin was pinned by an override rather than chosen by distance.
    pinned: frozenset[str] = frozenset()
    # Origins out of rotation by the stack's configuration (Pulumi's part of the routing state).
    drained: frozenset[str] = frozenset()

    @property
    def active_origins(self) -> tuple[str, ...]:
        """The origins in rotation by the stack's configuration, in preference order."""
        return tuple(code for code in self.origins if code not in self.drained)

    def route_for(self, region_code: str, out: Collection[str] | None = None) -> Route:
        """Where a request from ``region_code`` goes when the routing state puts ``out`` out of
        rotation (by default the drained origins), the drained origins being out whatever the
        state says (they are deploy-time data, in the edge code)."""
        ranking = self.rankings.get(region_code, self.default_ranking)
        state = self.drained if out is None else out
        return choose(ranking, state, self.failover_mode, self.failover_origin, self.drained)

    @property
    def routes(self) -> dict[str, Route]:
        """Every catalogue Region's route with the drained origins out of rotation."""
        return {edge: self.route_for(edge) for edge in self.rankings}

    @property
    def default_route(self) -> Route:
        return choose(
            self.default_ranking,
            self.drained,
            self.failover_mode,
            self.failover_origin,
            self.drained,
        )

    def summary(self) -> dict[str, object]:
        """Plain data for people: the mode, the default route and every edge Region's route."""
        return {
            "failover": self.failover_mode.value,
            "drained": sorted(self.drained),
            "default": asdict(self.default_route),
            "routes": {edge: asdict(route) for edge, route in self.routes.items()},
        }


def derive_routing_table(
    origins: Sequence[str],
    *,
    default_origin: str | None = None,
    overrides: Mapping[str, str] | None = None,
    failover: FailoverMode | str | None = None,
    failover_origin: str | None = None,
    drained: Sequence[str] | None = None,
    metric: RoutingMetric | str = RoutingMetric.DISTANCE,
    latency: LatencySnapshot | None = None,
    margin_ms: float = DEFAULT_MARGIN_MS,
) -> RoutingTable:
    """Rank the origins for every catalogue Region.

    ``origins`` are the Regions that hold a bucket, in preference order (it breaks distance ties).
    ``default_origin`` (first origin if omitted) serves Region codes the catalogue does not know and
    is the origin group's primary member. ``overrides`` pins an edge Region to an origin: it ranks
    first there. ``failover`` defaults to ranked with two or more origins and off with one.
    ``failover_origin`` is the origin group's secondary member and fixed failover's target, by
    default the origin nearest ``default_origin``; it is ignored when failover is off, so switching
    failover off never needs a second config change. ``drained`` origins keep their bucket but take
    no traffic: no route names them, as primary or failover, while another origin is in rotation.
    The rankings, the default and the failover origin do not depend on ``drained``, so a drain
    never changes the distribution; the drained list itself goes into the edge code (and into the
    routing state, which reaches running code first), so no edge routes to a drained origin
    whatever the routing state says or fails to say.
    ``metric`` latency ranks every edge's origins, failover included, by the ``latency`` snapshot
    with ``margin_ms`` (``routing.latency.rank_origins_by_metric``); pins still win.
    """
    rank = latency_ranking(metric, latency, margin_ms) or rank_origins
    catalogue = load_catalogue()
    origin_codes = _validate_origins(origins, catalogue)
    out = _validate_drained(drained, origin_codes)
    default = _validate_member("default_origin", default_origin, origin_codes) or origin_codes[0]
    mode = _parse_failover_mode(failover, origin_codes)
    pinned = _validate_overrides(overrides, origin_codes, catalogue)

    group_secondary: str | None = None
    if mode is not FailoverMode.OFF:
        group_secondary = _validate_member("failover_origin", failover_origin, origin_codes)
        if group_secondary is None:
            group_secondary = rank(default, origin_codes)[1]
        elif group_secondary == default:
            raise RoutingError(
                "failover_origin",
                f"{group_secondary!r} is also the default origin; the origin group needs two "
                "different buckets: choose one of "
                + ", ".join(c for c in origin_codes if c != default),
            )

    def ranking(edge: str, first: str | None = None) -> tuple[str, ...]:
        nearest = rank(edge, origin_codes)
        return tuple([first, *(code for code in nearest if code != first)] if first else nearest)

    return RoutingTable(
        origins=origin_codes,
        default_origin=default,
        failover_mode=mode,
        failover_origin=group_secondary,
        rankings=MappingProxyType({code: ranking(code, pinned.get(code)) for code in catalogue}),
        default_ranking=ranking(default, default),
        pinned=frozenset(pinned),
        drained=frozenset(out),
    )


def _validate_origins(origins: object, catalogue: Mapping[str, Region]) -> tuple[str, ...]:
    if isinstance(origins, str) or not isinstance(origins, Sequence) or not origins:
        raise RoutingError(
            "origins",
            f"{origins!r} is not a non-empty list of Region codes; "
            "expected for example ['us-east-1', 'eu-central-1']",
        )
    seen: set[str] = set()
    for code in origins:
        if not isinstance(code, str) or code not in catalogue:
            raise RoutingError("origins", describe_unknown_region(code))
        if code in seen:
            raise RoutingError(
                "origins", f"{code!r} is listed twice; each Region holds at most one bucket"
            )
        seen.add(code)
    return tuple(origins)


def _validate_member(field: str, code: str | None, origin_codes: tuple[str, ...]) -> str | None:
    if code is None or code in origin_codes:
        return code
    raise _not_an_origin(field, code, origin_codes)


def _validate_drained(drained: object, origin_codes: tuple[str, ...]) -> frozenset[str]:
    if drained is None:
        return frozenset()
    if isinstance(drained, str) or not isinstance(drained, Sequence):
        raise RoutingError(
            "drained",
            f"{drained!r} is not a list of origin Regions; expected for example ['eu-central-1']",
        )
    for code in drained:
        if code not in origin_codes:
            raise _not_an_origin("drained", code, origin_codes)
    if len(set(drained)) != len(drained):
        raise RoutingError("drained", f"{list(drained)!r} lists a Region twice")
    if set(drained) >= set(origin_codes):
        raise RoutingError(
            "drained",
            f"{list(drained)!r} drains every origin; at least one must stay in rotation",
        )
    return frozenset(drained)


def _not_an_origin(
    field: str, code: object, origin_codes: tuple[str, ...], context: str = ""
) -> RoutingError:
    return RoutingError(
        field,
        f"{context}{code!r} has no bucket; expected one of the origins: {', '.join(origin_codes)}",
    )


def _parse_failover_mode(
    value: FailoverMode | str | None, origin_codes: tuple[str, ...]
) -> FailoverMode:
    if value is None:
        return FailoverMode.RANKED if len(origin_codes) > 1 else FailoverMode.OFF
    try:
        mode = FailoverMode(value)
    except ValueError:
        raise RoutingError(
            "failover",
            f"{value!r} is not a failover mode; expected one of: "
            + ", ".join(m.value for m in FailoverMode),
        ) from None
    if mode is not FailoverMode.OFF and len(origin_codes) < 2:
        raise RoutingError(
            "failover",
            f"{mode.value!r} needs at least two origins to fail over between, and only "
            f"{origin_codes[0]} has a bucket; use 'off' or add an origin",
        )
    return mode


def _validate_overrides(
    overrides: Mapping[str, str] | None,
    origin_codes: tuple[str, ...],
    catalogue: Mapping[str, Region],
) -> Mapping[str, str]:
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise RoutingError(
            "overrides",
            f"{overrides!r} is not a map of edge Region to origin Region; "
            "expected for example {'ap-south-1': 'eu-central-1'}",
        )
    for edge, target in overrides.items():
        if not isinstance(edge, str) or edge not in catalogue:
            raise RoutingError("overrides", f"edge Region {describe_unknown_region(edge)}")
        if target not in origin_codes:
            raise _not_an_origin("overrides", target, origin_codes, context=f"route for {edge}: ")
    return overrides
