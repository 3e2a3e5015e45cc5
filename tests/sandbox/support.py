"""What the sandbox tests share: the scaled-down connection timeout, and an edge whose function
ignores the routing state."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.engine import Engine
from edge_function.cloudfront_function import origin_id, render_function_code
from edge_function.package import routing_package_files
from sandbox.function_runtime import CloudFrontFunction
from sandbox.stack import Sandbox, load_packaged_handler

# The edge's connection timeout in drills whose point is where each request goes, not how long a
# Region that cannot be reached holds it: CloudFront's shortest (1 s) scaled down ten times, still
# far above the time a loopback connection takes on a busy machine (the kernel completes the
# handshake; the emulators listen with a backlog of 128, above the drill's 32 viewers). The real
# second is waited for where it is the point: test_sandbox.py's tests of the unreachable wait.
SCALED_CONNECT_TIMEOUT = 0.1


@contextlib.contextmanager
def edge_ignoring_the_state(sandbox: Sandbox) -> Iterator[None]:
    """Inside the block the edge runs the stack's function built without its routing state (a
    Lambda@Edge package without a state source, a CloudFront function without a store key): it
    routes by the rankings alone, whatever is out of rotation."""
    edge, settings = sandbox.edge, sandbox.settings
    with tempfile.TemporaryDirectory() as folder:
        if settings.engine is Engine.LAMBDA_EDGE:
            files = routing_package_files(
                settings.routing, sandbox.buckets, marker_header=settings.marker_header
            )
            for name, text in files.items():
                (Path(folder) / name).write_text(text, encoding="utf-8")
            attribute, function = "handler", load_packaged_handler(Path(folder))
        else:
            code = render_function_code(settings.routing, settings.failover_status_codes)
            origins = [origin_id(region) for region in settings.origins]
            attribute, function = "viewer_request", CloudFrontFunction(code, origins)
        original = getattr(edge, attribute)
        setattr(edge, attribute, function)
        edge.invalidate()
        try:
            yield
        finally:
            setattr(edge, attribute, original)
            edge.invalidate()
