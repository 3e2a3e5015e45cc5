"""One S3 API per origin Region on loopback: moto's server, behind a switch for the faults drills
need.

All emulators serve one moto backend (moto keeps its state per process), but each answers only for
the buckets of its own Region, as S3's Regional endpoints do: a request for another Region's bucket
gets S3's 301 PermanentRedirect, and a request signed for the wrong Region gets S3's 400
AuthorizationHeaderMalformed ("the region 'X' is wrong; expecting 'Y'"). That is how an
origin-request function that rewrites ``domainName``, ``region`` and ``Host`` inconsistently fails
here, as on AWS.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from moto.s3.models import FakeKey, s3_backends
from werkzeug.serving import BaseWSGIServer, make_server

from evacuation.evacuator import HEALTH_KEY
from sandbox.session import sandbox_session

# moto's partition for the commercial Regions, where every emulated bucket is.
_PARTITION = "aws"
# How often a server looks for a request to stop (socketserver's default is 0.5 s): stopping the
# sandbox waits for it, once per server.
POLL_SECONDS = 0.05

# moto's account: the one that owns every emulated bucket.
ACCOUNT_ID = DEFAULT_ACCOUNT_ID

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/s3/aws4_request")


class Fault(Enum):
    # Answers 503 Slow Down / Service Unavailable, as a Region in trouble does.
    UNAVAILABLE = "503"
    # Accepts the connection and the request, then sends nothing until the fault is lifted: a
    # stalled Region, which only the origin's response timeout ends.
    STALLED = "stalled"


# How long a stalled request is held at most, so that a forgotten fault never pins a thread.
_MAX_STALL_SECONDS = 600.0
# How often a stalled request looks whether its client is still there.
_STALL_LOOK_SECONDS = 0.05


def _closed_by_peer(connection: socket.socket) -> bool:
    """Whether the other end closed ``connection``: a peek that reads end-of-file (an error
    counts too); waiting data or nothing yet is an open connection."""
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


# WSGI's start_response(status, headers) and environ, as werkzeug passes them.
StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def _s3_error(
    start_response: StartResponse,
    status: str,
    code: str,
    message: str,
    headers: tuple[tuple[str, str], ...] = (),
) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    start_response(
        status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), *headers]
    )
    return [body.encode()]


class RegionalS3:
    """The S3 endpoint of one Region: start, stop (connections refused) and faults on demand."""

    def __init__(self, region: str, app: Any, buckets: dict[str, str], account: str) -> None:
        self.region = region
        # The account that owns every emulated bucket.
        self.account = account
        # Every request that reached the endpoint, and those of them that read the health object
        # (the evacuator's probes): what viewers sent is the difference.
        self.requests = 0
        self.health_checks = 0
        # The server answers on many threads; a count that lost one could hide a request.
        self._counting = threading.Lock()
        self._app = app
        self._buckets = buckets  # every emulated bucket → its Region
        self._fault: Fault | None = None
        # Set while no stall is in force: a stalled request waits for it.
        self._flowing = threading.Event()
        self._flowing.set()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._black_hole: list[socket.socket] = []
        self.port = 0

    @property
    def fault(self) -> Fault | None:
        return self._fault

    @fault.setter
    def fault(self, fault: Fault | None) -> None:
        self._fault = fault
        if fault is Fault.STALLED:
            self._flowing.clear()
        else:
            self._flowing.set()

    @property
    def viewer_requests(self) -> int:
        """Requests that were not the evacuator's probes: what the edge sent here."""
        with self._counting:
            return self.requests - self.health_checks

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        with self._counting:
            self.requests += 1
            if environ.get("PATH_INFO", "").endswith("/" + HEALTH_KEY):
                self.health_checks += 1
        if self._fault is Fault.STALLED and not self._stall(environ):
            # Its client gave up (a time-out): nobody reads what is sent now, and the thread and
            # the connection go at once, so that a long stall does not pile them up by the
            # thousand (one per probe of the evacuator, every half second).
            return _s3_error(start_response, "503 Service Unavailable", "Stalled", "gone")
        if self._fault is Fault.UNAVAILABLE:
            return _s3_error(
                start_response,
                "503 Service Unavailable",
                "ServiceUnavailable",
                "Reduce your request rate.",
            )
        bucket = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
        home = self._buckets.get(bucket)
        if home is not None and home != self.region:
            return _s3_error(
                start_response,
                "301 Moved Permanently",
                "PermanentRedirect",
                f"The bucket {bucket} must be addressed using the endpoint of {home}.",
                # S3 names the bucket's Region in this header (the AWS SDK for Ruby reads it into
                # its PermanentRedirect error); SDKs redirect once by it, then give up.
                headers=(("x-amz-bucket-region", home),),
            )
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope and scope.group(1) != self.region:
            return _s3_error(
                start_response,
                "400 Bad Request",
                "AuthorizationHeaderMalformed",
                f"The authorization header is malformed; the region '{scope.group(1)}' is wrong; "
                f"expecting '{self.region}'",
            )
        owner = environ.get("HTTP_X_AMZ_EXPECTED_BUCKET_OWNER")
        if owner is not None and owner != self.account:
            # "If the account ID that you provide does not match the actual owner of the bucket,
            # the request fails with the HTTP status code 403 Forbidden (access denied)" (S3 API
            # reference, GetObject).
            return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Access Denied")
        if environ.get("PATH_INFO", "").endswith("/" + HEALTH_KEY):
            return self._health_object(environ, start_response)
        answer: Iterable[bytes] = self._app(environ, start_response)
        return answer

    def _stall(self, environ: Environ) -> bool:
        """Hold the request while the stall lasts (at most ``_MAX_STALL_SECONDS``); False when its
        client has closed the connection meanwhile."""
        connection = environ.get("werkzeug.socket")
        deadline = time.monotonic() + _MAX_STALL_SECONDS
        while not self._flowing.wait(_STALL_LOOK_SECONDS):
            if connection is not None and _closed_by_peer(connection):
                return False
            if time.monotonic() > deadline:
                break
        return True

    def _health_object(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """The evacuator's probe: its role may read the health object and list nothing, so a
        missing object answers 403, not moto's 404 ("If you don't have the s3:ListBucket
        permission, Amazon S3 returns an HTTP status code 403 Forbidden", S3 API reference,
        GetObject)."""
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[..., Any]:
            answered.append((status, headers))
            return lambda data: None

        body = b"".join(self._app(environ, keep))
        status, headers = answered[0]
        if status.startswith("404"):
            return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Access Denied")
        start_response(status, headers)
        return [body]

    def start(self) -> None:
        self._close_black_hole()
        # The same port on restart, so the edge finds the Region where it was.
        self._server = make_server(
            "127.0.0.1", self.port, self, threaded=True, request_handler=QuietRequestHandler
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_SECONDS,),
            name=f"s3-{self.region}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._close_black_hole()
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def make_unreachable(self) -> None:
        """Stop answering without refusing connections: connection attempts time out, as to a
        Region whose network is gone. The port listens with a full accept queue, so the kernel
        drops new SYNs (Linux, tcp_abort_on_overflow=0) and ``connect`` waits until its timeout."""
        self.stop()
        hole = socket.socket()
        hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hole.bind(("127.0.0.1", self.port))
        hole.listen(0)
        self._black_hole = [hole]
        for _ in range(2):  # a backlog of 0 still queues one connection: fill it
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self._black_hole.append(filler)
        time.sleep(0.05)  # let the fillers' handshakes complete

    def _close_black_hole(self) -> None:
        for sock in self._black_hole:
            sock.close()
        self._black_hole = []

    @property
    def running(self) -> bool:
        return self._server is not None


def _forget_bucket(name: str) -> None:
    """Remove bucket ``name`` and every version of every object in it from moto's backend,
    closing the temporary files moto keeps object bodies in."""
    backend = s3_backends[DEFAULT_ACCOUNT_ID][_PARTITION]
    bucket = backend.buckets.pop(name, None)
    s3_backends.bucket_accounts.pop(name, None)
    if bucket is None:
        return
    for _, versions in bucket.keys.iterlists():
        for version in versions:
            if isinstance(version, FakeKey):
                version.dispose()
    for upload in bucket.multiparts.values():
        upload.dispose()


class QuietRequestHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class S3Emulators:
    """An S3 endpoint per Region, each holding that Region's bucket."""

    def __init__(self, buckets: dict[str, str]) -> None:
        # moto's S3 application itself, not its dispatcher: the dispatcher finds the service of
        # every request under one lock, listing moto's package folder each time, and with many
        # Regions' requests at once they queued on it by the thousand (a thread and a socket
        # each: "Too many open files").
        app = create_backend_app("s3")
        owners = {bucket: region for region, bucket in buckets.items()}
        self.buckets = dict(buckets)
        self.regions = {region: RegionalS3(region, app, owners, ACCOUNT_ID) for region in buckets}
        self._created: list[str] = []  # Regions whose bucket this instance created
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()

    def __enter__(self) -> S3Emulators:
        try:
            for emulator in self.regions.values():
                emulator.start()
            for region, bucket in self.buckets.items():
                client = self.client(region)
                if region == "us-east-1":
                    client.create_bucket(Bucket=bucket)
                else:
                    client.create_bucket(
                        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
                    )
                self._created.append(region)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        for emulator in self.regions.values():
            emulator.fault = None  # a stalled request is let go, so its thread ends
            emulator.stop()
        # moto keeps its buckets for the life of the process: ours go, so that a later sandbox of
        # the same stack in this process (a test, a benchmark) starts from nothing. Taken from
        # moto's backend itself, not through the emulators: however many objects were published,
        # whichever emulator a drill left stopped or unreachable.
        for region in self._created:
            _forget_bucket(self.buckets[region])
        self._created = []
        with self._clients_lock:
            for client in self._clients.values():
                client.close()  # its pooled connections
            self._clients = {}

    def endpoint(self, region: str) -> str:
        return f"http://127.0.0.1:{self.regions[region].port}"

    def client(self, region: str) -> Any:
        """An S3 client for the Region's endpoint, made once per endpoint (a stopped emulator
        starts again on the same port), from the one sandbox session: a client built from a new
        session reads botocore's S3 model again, a second or more of CPU each. boto3 clients are
        safe to share between threads ("Multithreading or multiprocessing with clients", boto3
        guide)."""
        endpoint = self.endpoint(region)
        with self._clients_lock:
            if (region, endpoint) not in self._clients:
                self._clients[region, endpoint] = sandbox_session().client(
                    "s3", region_name=region, endpoint_url=endpoint
                )
            return self._clients[region, endpoint]
