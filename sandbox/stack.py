"""A stack on one machine: its settings, its routing function as deployed, its buckets and its edge.

Both engines' code is built by the same code the Pulumi program uses. The Lambda@Edge package
(``routing_package_files``) is written to a folder and imported from there, so the handler that
answers here reads its own ``routing.json`` exactly as a Lambda@Edge container does; the CloudFront
function's code (``render_function_code``) runs in V8.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from components.defaults import S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS
from components.engine import Engine
from components.naming import bucket_prefix
from content.folder import scan_folder
from edge_function.cloudfront_function import origin_id, render_function_code
from edge_function.package import HANDLER_NAME, RUNTIME_MODULES, routing_package_files
from sandbox.edge import EdgeEmulator, EdgeServer
from sandbox.function_runtime import CloudFrontFunction
from sandbox.regional_s3 import S3Emulators
from settings import PROJECT, Settings
from tools.cli import ToolError

SAMPLE_OBJECTS = ("index.html", "assets/where.json")


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
        empty_regions: Collection[str] = (),
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
        # Regions whose bucket starts empty, as a Region just added to a stack does.
        self.empty_regions = frozenset(empty_regions)
        self.buckets = sandbox_bucket_names(settings)
        self.emulators = S3Emulators(self.buckets)
        self._edge: EdgeEmulator | None = None
        self._server: EdgeServer | None = None
        self._running = ExitStack()

    def __enter__(self) -> Sandbox:
        with ExitStack() as undo:  # on any failure, whatever was started stops again
            handler, viewer_request = self._routing_function(self.settings, undo)
            # The edge's port first: a busy port is reported before anything else starts.
            self._server = EdgeServer(self.port, None, self.default_edge_region)
            undo.callback(self._server.server_close)
            self.port = self._server.server_address[1]
            undo.enter_context(self.emulators)
            self._fill_buckets()
            self._edge = EdgeEmulator(
                self.settings,
                handler,
                self.emulators,
                viewer_request=viewer_request,
                read_timeout=self.read_timeout,
            )
            self._server.edge = self._edge
            thread = threading.Thread(target=self._server.serve_forever, name="edge", daemon=True)
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
            package = Path(
                cleanup.enter_context(tempfile.TemporaryDirectory(prefix="geo-proximity-package-"))
            )
            for name, text in routing_package_files(
                settings.routing, self.buckets, marker_header=settings.marker_header
            ).items():
                (package / name).write_text(text, encoding="utf-8")
            return load_packaged_handler(package), None
        code = render_function_code(settings.routing, settings.failover_status_codes)
        return None, CloudFrontFunction(code, [origin_id(region) for region in settings.origins])

    @contextmanager
    def rerouted(self, settings: Settings) -> Iterator[None]:
        """Serve with ``settings``'s routing (the same origins, other routes) inside the block, as
        after a ``pulumi up`` that changed only routing; the edge caches start empty."""
        if settings.origins != self.settings.origins or settings.engine is not self.settings.engine:
            raise ValueError("a reroute keeps the origins and the engine")
        edge, before = self.edge, self.settings
        with ExitStack() as cleanup:
            handler, viewer_request = self._routing_function(settings, cleanup)
            previous = (edge.settings, edge.handler, edge.viewer_request)
            edge.settings, edge.handler, edge.viewer_request = settings, handler, viewer_request
            self.settings = settings
            edge.invalidate()
            try:
                yield
            finally:
                edge.settings, edge.handler, edge.viewer_request = previous
                self.settings = before
                edge.invalidate()

    def __exit__(self, *exc_info: object) -> None:
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

    def _fill_buckets(self) -> None:
        for region in self.buckets:
            if region in self.empty_regions:
                continue
            for key in self.keys:
                self.restore_object(region, key)
