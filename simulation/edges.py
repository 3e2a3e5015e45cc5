"""What the deployed edge code does by itself when it cannot read the routing state: asked of the
real code, not modelled.

A drained Region must get no request whatever the state store says or fails to say, so the drains
must be in the deployed code as well as in the state. Which Regions the code keeps out with no
state at all is found here by running it: the Lambda@Edge package as ``pulumi up`` builds it, its
state read pointed at a port where nothing listens (the read fails at once, as a read that fails
does), asked for every edge Region's primary and failover; the CloudFront function as rendered, in
V8, with a key value store whose every read fails. The origins it never sends a request to are what
it excludes by itself; the simulation's edges keep them out whatever they read.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import socket
import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.engine import Engine, OriginAccess
from edge_function.cloudfront_function import origin_id, render_function_code
from edge_function.package import HANDLER_NAME, RUNTIME_MODULES, routing_package_files
from routing.artifact import StateSource
from sandbox.function_runtime import (
    CloudFrontFunction,
    KeyValueStoreUnavailable,
    edge_location,
    viewer_request_event,
)
from settings.parser import Settings

_MARKER_VALUE = "true"


# Settings hold mappings, which do not hash: the cache is by identity (the simulation's settings
# are themselves cached, one object per stack and drained list).
_CACHE: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[Settings, frozenset[str]]] = {}


def _exclusions(settings: Settings, buckets: tuple[tuple[str, str], ...]) -> frozenset[str]:
    key = (id(settings), buckets)
    if key not in _CACHE or _CACHE[key][0] is not settings:
        _CACHE[key] = (settings, deploy_time_exclusions(settings, dict(buckets), cached=False))
    return _CACHE[key][1]


def deploy_time_exclusions(
    settings: Settings, buckets: Mapping[str, str], *, cached: bool = True
) -> frozenset[str]:
    """The origins the stack's deployed edge code never routes to when it cannot read the state."""
    if cached:
        return _exclusions(settings, tuple(sorted(buckets.items())))
    reached = (
        _lambda_edge_reaches(settings, buckets)
        if settings.engine is Engine.LAMBDA_EDGE
        else _function_reaches(settings)
    )
    return frozenset(settings.origins) - reached


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lambda_edge_reaches(settings: Settings, buckets: Mapping[str, str]) -> frozenset[str]:
    layout = settings.routing_state
    state = (
        StateSource(
            layout.table_name,
            regions=layout.table_regions,
            endpoint=f"http://127.0.0.1:{_closed_port()}",
        )
        if layout is not None and layout.table_regions
        else None
    )
    files = routing_package_files(
        settings.routing, buckets, marker_header=settings.marker_header, state=state
    )
    reached: set[str] = set()
    # Credentials as Lambda gives them, so the read fails where a read fails: on the network. The
    # function's one line about it goes nowhere.
    with _environment(_CREDENTIALS), contextlib.redirect_stderr(io.StringIO()):
        handler = _load_handler(files)
        for edge in settings.routing.rankings:
            for member in settings.origins:
                for marker in (None, settings.marker_header):
                    event = _origin_request_event(settings, buckets, member, marker)
                    request = handler(event, _Context(edge))
                    reached.add(str(request["origin"]["s3"]["region"]))
    return frozenset(reached)


_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "simulation", "AWS_SECRET_ACCESS_KEY": "simulation"}


@contextlib.contextmanager
def _environment(variables: Mapping[str, str]) -> Any:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load_handler(files: Mapping[str, str]) -> Any:
    module_name, _, function_name = HANDLER_NAME.partition(".")
    with tempfile.TemporaryDirectory(prefix="geo-proximity-simulation-") as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        sys.path.insert(0, folder)
        try:
            module = importlib.import_module(module_name)
            return getattr(module, function_name)
        finally:
            sys.path.remove(folder)
            for path in RUNTIME_MODULES:
                sys.modules.pop(path.stem, None)


class _Context:
    def __init__(self, edge: str) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{edge}:123456789012:function:us-east-1.sim:1"
        self.function_name = "us-east-1.sim"
        self.aws_request_id = uuid.uuid4().hex


def _origin_request_event(
    settings: Settings, buckets: Mapping[str, str], member: str, marker: str | None
) -> dict[str, Any]:
    domain = f"{buckets[member]}.s3.{member}.amazonaws.com"
    custom = {marker.lower(): [{"key": marker, "value": _MARKER_VALUE}]} if marker else {}
    access = (
        "origin-access-identity" if settings.engine.origin_access is OriginAccess.OAI else "none"
    )
    return {
        "Records": [
            {
                "cf": {
                    "config": {"distributionId": "ESIMULATION", "eventType": "origin-request"},
                    "request": {
                        "clientIp": "192.0.2.1",
                        "headers": {"host": [{"key": "Host", "value": domain}]},
                        "method": "GET",
                        "origin": {
                            "s3": {
                                "authMethod": access,
                                "customHeaders": custom,
                                "domainName": domain,
                                "path": "",
                                "region": member,
                            }
                        },
                        "querystring": "",
                        "uri": "/index.html",
                    },
                }
            }
        ]
    }


class _UnreadableStore(Mapping[str, str]):
    def snapshot(self) -> dict[str, str]:
        raise KeyValueStoreUnavailable("the store cannot be read")

    def __getitem__(self, key: str) -> str:
        raise KeyValueStoreUnavailable("the store cannot be read")

    def __iter__(self) -> Any:
        raise KeyValueStoreUnavailable("the store cannot be read")

    def __len__(self) -> int:
        return 0


def _function_reaches(settings: Settings) -> frozenset[str]:
    code = render_function_code(
        settings.routing, settings.failover_status_codes, settings.state_key
    )
    function = CloudFrontFunction(
        code, [origin_id(region) for region in settings.origins], kvs=_UnreadableStore()
    )
    regions = {origin_id(region): region for region in settings.origins}
    reached: set[str] = set()
    for edge in settings.routing.rankings:
        event = viewer_request_event(
            "GET", "/index.html", host="sim.example", client_ip="192.0.2.1"
        )
        result = function.invoke(event, edge_location(edge))
        if result.choice is None:
            reached.add(settings.routing.default_origin)
        else:
            reached.update(regions[member] for member in result.choice.origin_ids)
    return frozenset(reached)
