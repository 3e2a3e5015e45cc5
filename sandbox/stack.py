"""A stack on one machine: its settings, its routing function as deployed, its buckets, its routing
state and its edge.

Both engines' code is built by the same code the Pulumi program uses. The Lambda@Edge package
(``routing_package_files``) is written to a folder and imported from there, so the handler that
answers here reads its own ``routing.json`` exactly as a Lambda@Edge container does, and the routing
state from the emulated DynamoDB table; the CloudFront function's code (``render_function_code``)
runs in V8 and reads the emulated key value store (``sandbox.state``).
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from core.cloudfront import S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS
from core.engine import Engine
from core.naming import bucket_prefix
from edge_function.cloudfront_function import origin_id, render_function_code
from edge_function.package import HANDLER_NAME, RUNTIME_MODULES, routing_package_files
from evacuation.evacuator import HEALTH_KEY
from sandbox.edge import EdgeEmulator, EdgeServer
from sandbox.function_runtime import CloudFrontFunction
from sandbox.regional_s3 import POLL_SECONDS, S3Emulators
from sandbox.state import STATE_REFRESH_SECONDS, RoutingStateEmulator, credentials_in_environment
from settings.parser import Settings, parse_settings
from settings.table import PROJECT
from tools.cli import ToolError
from tools.folder import scan_folder
from tools.interrupt import shielded, temporary_folder

SAMPLE_OBJECTS = ("index.html", "assets/where.json")
# What Pulumi writes into every bucket for the evacuator's probes.
HEALTH_BODY = b"ok\n"
# After the state's refresh, a moment for the first read to happen.
_PROPAGATION_MARGIN_S = 0.05


def sandbox_bucket_names(settings: Settings) -> dict[str, str]:
    # Real deployments get a 26-character suffix from S3; this fixed one says where it is from.
    return {
        region: bucket_prefix(PROJECT, settings.stack, region) + "sandbox"
        for region in settings.origins
    }


def load_packaged_handler(directory: Path) -> Callable[[dict[str, Any], Any], Any]:
    """Import the package's entry module from ``directory``, as Lambda does; return its handler."""
    module_name, _, function_name = HANDLER_NAME.partition(".")
    sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module(module_name)
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, function_name)
        return handler
    finally:
        sys.path.remove(str(directory))
        # The next sandbox in this process must load its own package, not this one's.
        for module_path in RUNTIME_MODULES:
            sys.modules.pop(module_path.stem, None)


class Sandbox:
    """Start with ``with Sandbox(settings) as sandbox:``; everything stops on leaving the block."""

    def __init__(
        self,
        settings: Settings,
        *,
        port: int = 0,
        default_edge_region: str = "us-east-1",
        assets: Path | None = None,
        read_timeout: float = S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS,
        connect_timeout: float | None = None,
        empty_regions: Collection[str] = (),
        state_refresh_seconds: float = STATE_REFRESH_SECONDS,
        evacuating: bool = False,
        evacuator_log: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.port = port
        self.default_edge_region = default_edge_region
        # Key → local file, read once: a missing or empty folder is reported before anything starts.
        self.assets = (
            {local.key: local for local in scan_folder(assets, prefix="")} if assets else None
        )
        if assets is not None and not self.assets:
            raise ToolError(f"--assets {assets}: the folder holds no files to serve")
        self.read_timeout = read_timeout
        # The edge's connection timeout per attempt: the stack's originConnectionTimeout, unless a
        # test scales it down where the wait proves nothing.
        self.connect_timeout = (
            float(settings.origin_connection_timeout)
            if connect_timeout is None
            else connect_timeout
        )
        # The stack's response completion timeout on the same scale as the response timeout (S3's
        # 30 s is read_timeout here); None when the stack sets none (0, the default).
        self.response_completion_timeout = (
            settings.origin_response_completion_timeout
            * read_timeout
            / S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS
            or None
        )
        # Regions whose bucket starts empty, as a Region just added to a stack does.
        self.empty_regions = frozenset(empty_regions)
        self.buckets = sandbox_bucket_names(settings)
        self.emulators = S3Emulators(self.buckets)
        # The routing state's store(s), for stacks that have a routing state (two origins or more).
        self.state = (
            RoutingStateEmulator(settings, self.buckets, refresh_seconds=state_refresh_seconds)
            if settings.routing_state
            else None
        )
        # Run every vantage Region's evacuator for as long as the sandbox runs (serve).
        self.evacuating = evacuating and settings.evacuation and self.state is not None
        # Where the running evacuators' evacuations, restores and publications are told.
        self.evacuator_log = evacuator_log or (lambda _: None)
        self._edge: EdgeEmulator | None = None
        self._server: EdgeServer | None = None
        self._running = ExitStack()

    def __enter__(self) -> Sandbox:
        with ExitStack() as undo:  # on any failure, whatever was started stops again
            # The edge's port first: a busy port is reported before anything else starts.
            self._server = EdgeServer(self.port, None, self.default_edge_region)
            undo.callback(self._server.server_close)
            self.port = self._server.server_address[1]
            undo.enter_context(credentials_in_environment())
            if self.state is not None:
                undo.enter_context(self.state)
            handler, viewer_request = self._routing_function(self.settings, undo)
            undo.enter_context(self.emulators)
            self._fill_buckets()
            if self.state is not None:
                self.state.s3_endpoints = {r: self.emulators.endpoint(r) for r in self.buckets}
                if self.evacuating:
                    undo.enter_context(self.state.evacuating(self.evacuator_log))
            self._edge = EdgeEmulator(
                self.settings,
                handler,
                self.emulators,
                viewer_request=viewer_request,
                read_timeout=self.read_timeout,
                connect_timeout=self.connect_timeout,
                response_completion_timeout=self.response_completion_timeout,
            )
            self._server.edge = self._edge
            thread = threading.Thread(
                target=self._server.serve_forever, args=(POLL_SECONDS,), name="edge", daemon=True
            )
            thread.start()
            undo.callback(thread.join)
            undo.callback(self._server.shutdown)
            self._running = undo.pop_all()
        return self

    def _routing_function(
        self, settings: Settings, cleanup: ExitStack
    ) -> tuple[Callable[[dict[str, Any], Any], Any] | None, CloudFrontFunction | None]:
        """The engine's function for ``settings``, built as ``pulumi up`` builds it."""
        if settings.engine is Engine.LAMBDA_EDGE:
            package = cleanup.enter_context(temporary_folder("geo-proximity-package-"))
            for name, text in routing_package_files(
                settings.routing,
                self.buckets,
                marker_header=settings.marker_header,
                state=self.state.state_source() if self.state is not None else None,
            ).items():
                (package / name).write_text(text, encoding="utf-8")
            return load_packaged_handler(package), None
        key = settings.state_key if self.state is not None else None
        code = render_function_code(settings.routing, settings.failover_status_codes, key)
        store = self.state.function_store() if self.state is not None and key else None
        origins = [origin_id(region) for region in settings.origins]
        return None, CloudFrontFunction(code, origins, kvs=store)

    @contextmanager
    def rerouted(self, settings: Settings) -> Iterator[None]:
        """Serve with ``settings``'s routing (the same origins, other routes or drains) inside the
        block, as after a ``pulumi up`` that changed only routing: the function's code as built
        for ``settings`` (new containers) and Pulumi's part of the routing state. The edge caches
        keep what they hold, as CloudFront's do through a distribution update: only an
        invalidation empties them (``edge.invalidate()``). Back as before on leaving the block."""
        if settings.origins != self.settings.origins or settings.engine is not self.settings.engine:
            raise ValueError("a reroute keeps the origins and the engine")
        edge, before = self.edge, self.settings
        with ExitStack() as cleanup:
            handler, viewer_request = self._routing_function(settings, cleanup)
            previous = (edge.settings, edge.handler, edge.viewer_request)
            edge.settings, edge.handler, edge.viewer_request = settings, handler, viewer_request
            self.settings = settings
            self._write_drained(settings.routing.drained)
            try:
                yield
            finally:
                edge.settings, edge.handler, edge.viewer_request = previous
                self.settings = before
                self._write_drained(before.routing.drained)

    @contextmanager
    def cold_started(self) -> Iterator[None]:
        """The same code in fresh containers inside the block (a Lambda@Edge container that has
        read no state yet, a CloudFront function loaded again); the previous ones after."""
        edge = self.edge
        with ExitStack() as cleanup:
            handler, viewer_request = self._routing_function(self.settings, cleanup)
            previous = (edge.handler, edge.viewer_request)
            edge.handler, edge.viewer_request = handler, viewer_request
            try:
                yield
            finally:
                edge.handler, edge.viewer_request = previous

    @contextmanager
    def drained(self, regions: Collection[str]) -> Iterator[None]:
        """The stack drains ``regions`` inside the block, as ``pulumi up`` does after ``pulumi
        config set geo-proximity:drained``: Pulumi's part of the routing state first, then the
        function's new code, which carries the drained list (new containers; the edge caches keep
        what they hold). The stack's own drains again on leaving the block."""
        values = {**self.settings.values, "drained": json.dumps(sorted(regions))}
        with self.rerouted(parse_settings(values, stack=self.settings.stack)):
            yield

    @contextmanager
    def drained_in_state(self, regions: Collection[str]) -> Iterator[None]:
        """Only Pulumi's part of the routing state drains ``regions`` inside the block: the moment
        of a ``pulumi up`` after the state is written and before the function's new code reaches
        the edge, when the running code learns of the drain from the state (once it has
        propagated). The stack's own drained list again on leaving the block."""
        self._write_drained(regions)
        try:
            yield
        finally:
            self._write_drained(self.settings.routing.drained)

    @contextmanager
    def store_not_reached(self) -> Iterator[None]:
        """The routing state out of the edge's reach inside the block: with Lambda@Edge the table
        does not answer (a container's next read, a cold one's first, fails); with CloudFront
        Functions the function's key value store holds no key yet (an edge the store has not
        reached). The edge then knows only what its code carries."""
        if self.state is None:
            yield
            return
        if self.settings.engine is Engine.LAMBDA_EDGE:
            with self.state.unreadable():
                yield
            return
        function = self.edge.viewer_request
        assert function is not None  # the CloudFront Functions engine's path
        stored, function.kvs = function.kvs, {}
        try:
            yield
        finally:
            function.kvs = stored

    def _write_drained(self, regions: Collection[str]) -> None:
        if self.state is not None:
            self.state.write_drained(regions)
            self.await_propagation()

    def await_propagation(self) -> None:
        """Wait until the edge reads the routing state as it was just written: a Lambda@Edge
        container reads it again after its refresh; a CloudFront function reads its key value
        store at every request (the sandbox's store propagates at once)."""
        if self.state is not None and self.settings.engine is Engine.LAMBDA_EDGE:
            time.sleep(self.state.refresh_seconds + _PROPAGATION_MARGIN_S)

    def __exit__(self, *exc_info: object) -> None:
        # To its end, whatever signal arrives meanwhile: a stop cut half-way would leave servers,
        # their ports and the package's temporary folder behind.
        with shielded():
            self._running.close()

    @property
    def edge(self) -> EdgeEmulator:
        """The edge emulator; there is one only between entering and leaving the ``with`` block."""
        if self._edge is None:
            raise RuntimeError("the sandbox is not started: use it in a with block")
        return self._edge

    def log_requests(self, out: Callable[[str], None]) -> None:
        """Write one line per request the edge answers to ``out``."""
        if self._server is not None:
            self._server.request_log = out

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def keys(self) -> list[str]:
        """The objects every bucket starts with."""
        return list(SAMPLE_OBJECTS) if self.assets is None else list(self.assets)

    def restore_object(self, region: str, key: str) -> None:
        """Put ``key`` into the Region's bucket as the sandbox first wrote it."""
        if self.assets is None:
            body = (
                f'{{"region": "{region}", "bucket": "{self.buckets[region]}"}}\n'
                if key.endswith(".json")
                else f"<h1>geo-proximity sandbox</h1><p>served from {region}</p>\n"
            )
            content_type = "application/json" if key.endswith(".json") else "text/html"
            data = body.encode()
        else:
            local = self.assets[key]
            data, content_type = local.path.read_bytes(), local.content_type
        self.emulators.client(region).put_object(
            Bucket=self.buckets[region],
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata={"region": region},
        )

    def put_health_object(self, region: str) -> None:
        """The health object in the Region's bucket, as Pulumi writes it."""
        self.emulators.client(region).put_object(
            Bucket=self.buckets[region], Key=HEALTH_KEY, Body=HEALTH_BODY, ContentType="text/plain"
        )

    def _fill_buckets(self) -> None:
        for region in self.buckets:
            # Pulumi writes the health object into every bucket, a new Region's empty one too.
            self.put_health_object(region)
            if region in self.empty_regions:
                continue
            for key in self.keys:
                self.restore_object(region, key)
