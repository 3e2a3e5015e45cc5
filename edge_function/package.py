"""Assemble the edge function's code package: the handler module plus its routing artifact.

The Pulumi program and the local tools both build the package here, so what is tested and
measured is what is deployed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from routing.artifact import (
    ARTIFACT_FILE_NAME,
    DEFAULT_MARKER_HEADER,
    StateSource,
    render_artifact,
)
from routing.table import RoutingTable

# The modules the function runs, shipped as they are in this folder.
RUNTIME_MODULES = (
    Path(__file__).with_name("lambda_function.py"),
    Path(__file__).with_name("origin_request.py"),
    # The state read's transport, loaded by the read's own thread from beside origin_request.py.
    Path(__file__).with_name("state_read.py"),
)
# Lambda's handler setting: <module>.<function>.
HANDLER_NAME = "lambda_function.handler"

# A fixed timestamp and mode make the archive a function of its contents alone.
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o100644 << 16


def package_files(artifact_json: str) -> dict[str, str]:
    """File name → text of every file in the package."""
    files = {module.name: module.read_text(encoding="utf-8") for module in RUNTIME_MODULES}
    files[ARTIFACT_FILE_NAME] = artifact_json
    return files


def routing_package_files(
    routing: RoutingTable,
    bucket_names: Mapping[str, str],
    *,
    marker_header: str = DEFAULT_MARKER_HEADER,
    state: StateSource | None = None,
) -> dict[str, str]:
    """The package a stack deploys: its routing table over ``bucket_names`` (Region → bucket),
    reading the routing state from ``state``."""
    return package_files(
        render_artifact(routing, bucket_names, marker_header=marker_header, state=state)
    )


def zip_package(files: Mapping[str, str]) -> bytes:
    """A deterministic zip archive of ``files``: same contents, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = _ZIP_FILE_MODE
            archive.writestr(entry, files[name].encode("utf-8"), compresslevel=9)
    return buffer.getvalue()
