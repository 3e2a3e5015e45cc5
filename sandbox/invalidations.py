"""CloudFront's invalidations for the sandbox's edge: CreateInvalidation and GetInvalidation of the
CloudFront API on a loopback HTTP port, so that ``aws cloudfront create-invalidation`` (or
botocore's ``cloudfront`` client) with ``--endpoint-url`` empties the edge caches as it would on
AWS.

An edge cache keeps an object until it expires or is invalidated: "If you need to remove a file from
CloudFront edge caches before it expires, you can ... Invalidate the file from edge caches. The next
time a viewer requests the file, CloudFront returns to the origin" (CloudFront developer guide,
"Invalidate files to remove content", Invalidation.html). So an origin taken out of rotation still
serves, from the caches, what they hold of it: the routing function runs only on a miss
(Lambda@Edge, origin request: "When the requested object is in the CloudFront cache, the function
doesn't execute", "CloudFront events that can trigger a Lambda@Edge function"), and a CloudFront
function's choice of origin does not change the cache key.

As the API reference describes them ("CreateInvalidation", "GetInvalidation", "Invalidation"): a
POST of an ``InvalidationBatch`` (``Paths`` with ``Quantity`` and ``Items``, a
``CallerReference``) to ``/2020-05-31/distribution/{Id}/invalidation`` answers 201 with the
invalidation, ``InProgress``; a path ending in ``*`` matches every path that starts with what comes
before it. A batch whose ``Quantity`` is not its number of paths, or a path not starting with ``/``,
is a 400 InvalidArgument; another distribution is a 404 NoSuchDistribution. Here the caches are
empty when the answer is sent, and GetInvalidation says ``Completed`` at once; CloudFront documents
no time for it ("When the invalidation batch is finished, the status is Completed"). Requests are
not checked for signatures, as the sandbox's S3 emulators do not check them.
"""

from __future__ import annotations

import itertools
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from sandbox.regional_s3 import POLL_SECONDS

# The sandbox's one distribution (an id of CloudFront's shape: E and 13 capitals and digits).
DISTRIBUTION_ID = "E2SANDBOX0EDGE"
API_VERSION = "2020-05-31"
_NAMESPACE = f"http://cloudfront.amazonaws.com/doc/{API_VERSION}/"
# An invalidation request is a few paths of XML; more than this is refused before it is read.
_MAX_BODY_BYTES = 1024 * 1024


class RefusedError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _paths(body: bytes) -> tuple[list[str], str]:
    """The paths and caller reference of an ``InvalidationBatch`` document."""
    try:
        batch = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise RefusedError(400, "MalformedInput", f"the request is not XML: {error}") from None
    namespace = {"cf": _NAMESPACE}
    quantity = batch.findtext("cf:Paths/cf:Quantity", namespaces=namespace)
    paths = [item.text or "" for item in batch.findall("cf:Paths/cf:Items/cf:Path", namespace)]
    reference = batch.findtext("cf:CallerReference", default="", namespaces=namespace)
    if quantity is None or not quantity.isdigit() or int(quantity) != len(paths):
        raise RefusedError(400, "InvalidArgument", "Paths.Quantity must be the number of paths")
    if not reference:
        raise RefusedError(400, "InvalidArgument", "CallerReference is required")
    for path in paths:
        if not path.startswith("/"):
            raise RefusedError(400, "InvalidArgument", f"the path {path!r} does not start with /")
    return paths, reference


class InvalidationsEmulator:
    """The API on a loopback port, calling ``invalidate(paths)`` for each invalidation; start
    with ``with``."""

    def __init__(self, invalidate: Callable[[Collection[str]], int]) -> None:
        self.invalidate = invalidate
        self.distribution_id = DISTRIBUTION_ID
        # Invalidation id -> (paths, caller reference, time), as GetInvalidation answers them.
        self.created: dict[str, tuple[list[str], str, datetime]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> InvalidationsEmulator:
        emulator = self

        class Handler(_Handler):
            api = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name="cloudfront", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start it with `with`"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def create(self, paths: list[str], reference: str) -> str:
        """Empty the caches of ``paths``; the new invalidation's id."""
        self.invalidate(paths)
        with self._lock:
            invalidation = f"I{next(self._ids):013d}"
            self.created[invalidation] = (paths, reference, datetime.now(UTC))
        return invalidation

    def document(self, invalidation: str, status: str) -> bytes:
        paths, reference, created = self.created[invalidation]
        items = "".join(f"<Path>{escape(path)}</Path>" for path in paths)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Invalidation xmlns="{_NAMESPACE}">'
            f"<Id>{invalidation}</Id><Status>{status}</Status>"
            f"<CreateTime>{created.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z</CreateTime>"
            f"<InvalidationBatch><Paths><Quantity>{len(paths)}</Quantity><Items>{items}</Items>"
            f"</Paths><CallerReference>{escape(reference)}</CallerReference>"
            "</InvalidationBatch></Invalidation>"
        ).encode()


class _Handler(BaseHTTPRequestHandler):
    api: InvalidationsEmulator
    protocol_version = "HTTP/1.1"

    def _route(self) -> tuple[str, str | None]:
        """(distribution id, invalidation id or None) of the request's path."""
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        routed = len(parts) in (4, 5) and parts[:2] == [API_VERSION, "distribution"]
        if not routed or parts[3] != "invalidation":
            raise RefusedError(404, "NotFound", "the sandbox answers Create- and GetInvalidation")
        if parts[2] != self.api.distribution_id:
            raise RefusedError(
                404, "NoSuchDistribution", "The specified distribution does not exist."
            )
        return parts[2], parts[4] if len(parts) == 5 else None

    def do_POST(self) -> None:
        try:
            distribution, invalidation = self._route()
            length = self.headers.get("Content-Length", "")
            if invalidation is not None or not length.isdigit():
                raise RefusedError(
                    400, "InvalidArgument", "POST an InvalidationBatch, with its length"
                )
            if int(length) > _MAX_BODY_BYTES:
                raise RefusedError(400, "InvalidArgument", "the invalidation batch is too large")
            paths, reference = _paths(self.rfile.read(int(length)))
        except RefusedError as refused:
            self._error(refused)
            return
        created = self.api.create(paths, reference)
        location = f"/{API_VERSION}/distribution/{distribution}/invalidation/{created}"
        self._send(201, self.api.document(created, "InProgress"), ("Location", location))

    def do_GET(self) -> None:
        try:
            _, invalidation = self._route()
            if invalidation not in self.api.created:
                raise RefusedError(
                    404, "NoSuchInvalidation", "The specified invalidation does not exist."
                )
        except RefusedError as refused:
            self._error(refused)
            return
        self._send(200, self.api.document(invalidation, "Completed"))

    def _error(self, refused: RefusedError) -> None:
        body = (
            f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{_NAMESPACE}"><Error><Type>Sender</Type>'
            f"<Code>{refused.code}</Code><Message>{escape(refused.message)}</Message></Error>"
            "<RequestId>sandbox</RequestId></ErrorResponse>"
        ).encode()
        self._send(refused.status, body)

    def _send(self, status: int, body: bytes, *headers: tuple[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
