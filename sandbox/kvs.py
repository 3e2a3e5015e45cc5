"""CloudFront KeyValueStore on one machine: the store a CloudFront function reads, and its
data-plane API on a loopback HTTP port, so that botocore's own ``cloudfront-keyvaluestore`` client
(with ``endpoint_url``) drives it as it drives AWS's.

The API is the data plane's REST API as botocore's model describes it
(``data/cloudfront-keyvaluestore/2022-07-26/service-2.json``) and the CloudFront API reference
documents it ("DescribeKeyValueStore", "GetKey", "PutKey", "DeleteKey", "ListKeys", "UpdateKeys"):

- every write names the store's current ETag in ``If-Match`` ("The current version (ETag) of the key
  value store ... which you can get by using the DescribeKeyValueStore API operation", PutKey); a
  write without one is a 400 ValidationException, one with another store version a 409
  ConflictException, and every write gives the store a new ETag;
- a key that is not there is a 404 ResourceNotFoundException (GetKey, DeleteKey, a delete in
  UpdateKeys), as is a store that is not there;
- ListKeys pages 1 to 50 keys ("Valid Range: Minimum value of 1. Maximum value of 50", default 10);
- the quotas ("Quotas on key value stores", CloudFront developer guide): a key of at most 512 bytes,
  a value of at most 1 KB, at most 50 keys in one request, a store of at most 5 MB, each refused
  with ServiceQuotaExceededException (402);
- the data plane "uses Signature Version 4A (SigV4A) for authentication" ("Work with key value
  data"): a request that is not signed ``AWS4-ECDSA-P256-SHA256``, or whose signature does not
  verify against the credentials the emulator knows, is refused with a 403, as is a request signed
  more than five minutes from now ("In most cases, a request must reach AWS within five minutes of
  the time stamp in the request. Otherwise, AWS denies the request.", IAM user guide, "AWS
  Signature Version 4 for API requests").

Not emulated: the control plane (CreateKeyValueStore and its import from S3; the sandbox creates its
store directly) and IAM (any known credentials may do anything). Propagation to the edge is instant
here: a CloudFront function reads the store as it is at each invocation (``items``). AWS documents
no propagation time for key value stores.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ecdsa import BadSignatureError
from ecdsa.util import sigdecode_der

from evacuation import sigv4a
from evacuation.sigv4a import ALGORITHM, REGION_SET_HEADER, derive_signing_key
from sandbox.function_runtime import KeyValueStoreUnavailable

SERVICE = "cloudfront-keyvaluestore"
# The quotas of "Quotas on key value stores" (CloudFront developer guide).
MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 1024
MAX_KEYS_PER_REQUEST = 50
MAX_STORE_BYTES = 5 * 1024 * 1024
# ListKeys' MaxResults: "The default is 10 and maximum allowed page is 50."
LIST_KEYS_DEFAULT, LIST_KEYS_MAX = 10, 50
# Requests signed further than this from the server's clock are refused (IAM user guide).
MAX_CLOCK_SKEW_SECONDS = 5 * 60
_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+) Credential=(?P<akid>[^/\s]+)/(?P<date>\d{8})/(?P<service>[^/\s]+)/"
    r"aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]+)$"
)
_PATH = re.compile(r"^/key-value-stores/(?P<arn>[^/?]+)(?P<keys>/keys(?:/(?P<key>[^?]+))?)?$")


class ApiError(Exception):
    """An error answer of the API: its HTTP status, its code (botocore's exception name), a
    message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _not_found(what: str) -> ApiError:
    return ApiError(404, "ResourceNotFoundException", what)


def _invalid(what: str) -> ApiError:
    return ApiError(400, "ValidationException", what)


def _over_quota(what: str) -> ApiError:
    return ApiError(402, "ServiceQuotaExceededException", what)


def _new_etag() -> str:
    """An opaque store version, in the shape AWS's ETags for key value stores have."""
    return "KV" + "".join(random.choices(string.ascii_uppercase + string.digits, k=13))


@dataclass
class _Store:
    arn: str
    created: float
    # Replaced whole on every write (copy on write): a reader holds one consistent version.
    items: dict[str, str] = field(default_factory=dict)
    etag: str = field(default_factory=_new_etag)
    last_modified: float = 0.0

    @property
    def size(self) -> int:
        return sum(len(key.encode()) + len(value.encode()) for key, value in self.items.items())

    def summary(self) -> dict[str, Any]:
        return {"ItemCount": len(self.items), "TotalSizeInBytes": self.size}


class StoreItems(Mapping[str, str]):
    """A store's key-value pairs as a CloudFront function reads them: whatever the store holds at
    each invocation (``snapshot``), or, while the store is unreadable, nothing at all
    (``KeyValueStoreUnavailable``)."""

    def __init__(self, emulator: KeyValueStoreEmulator, arn: str) -> None:
        self._emulator = emulator
        self._arn = arn

    def snapshot(self) -> dict[str, str]:
        if self._emulator.unreadable:
            raise KeyValueStoreUnavailable(f"{self._arn} cannot be read")
        return dict(self._emulator.store(self._arn).items)

    def __getitem__(self, key: str) -> str:
        return self.snapshot()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self.snapshot())


class KeyValueStoreEmulator:
    """Key value stores of one account and the data-plane API over them on ``127.0.0.1``.

    ``credentials`` (access key id → secret access key) are the ones whose SigV4A signatures it
    accepts. Start it with ``with``; ``endpoint`` is the URL to give botocore as
    ``endpoint_url``."""

    def __init__(self, credentials: Mapping[str, str], account_id: str, *, port: int = 0) -> None:
        self.credentials = dict(credentials)
        self.account_id = account_id
        # While set, functions reading a store find it unreadable (the API still answers).
        self.unreadable = False
        self._stores: dict[str, _Store] = {}
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests = 0

    def __enter__(self) -> KeyValueStoreEmulator:
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="kvs", daemon=True)
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
        return f"http://127.0.0.1:{self._port}"

    def create(self, name: str) -> str:
        """A new, empty store; its ARN."""
        arn = f"arn:aws:cloudfront::{self.account_id}:key-value-store/{uuid.uuid4()}"
        with self._lock:
            self._stores[arn] = _Store(arn, time.time(), last_modified=time.time())
        return arn

    def store(self, arn: str) -> _Store:
        try:
            return self._stores[arn]
        except KeyError:
            raise _not_found(f"Key value store {arn} was not found.") from None

    def items(self, arn: str) -> StoreItems:
        """The store's pairs, read live (what a CloudFront function associated with it sees)."""
        self.store(arn)
        return StoreItems(self, arn)

    def put(self, arn: str, key: str, value: str) -> None:
        """Write one key as the owner of the store does outside the API (Pulumi's own key)."""
        with self._lock:
            self._write(self.store(arn), {key: value}, set(), self.store(arn).etag)

    def _write(
        self, store: _Store, puts: Mapping[str, str], deletes: set[str], if_match: str | None
    ) -> dict[str, Any]:
        """Apply a write to ``store`` (the lock held), all or nothing."""
        if not if_match:
            raise _invalid("IfMatch is required: the store's ETag, from DescribeKeyValueStore.")
        if if_match != store.etag:
            raise ApiError(
                409,
                "ConflictException",
                f"The key value store changed: its ETag is {store.etag}, not {if_match}.",
            )
        if len(puts) + len(deletes) > MAX_KEYS_PER_REQUEST:
            raise _over_quota(f"At most {MAX_KEYS_PER_REQUEST} keys can change in one request.")
        for key, value in puts.items():
            if not key or len(key.encode()) > MAX_KEY_BYTES:
                raise _over_quota(f"A key is 1 to {MAX_KEY_BYTES} bytes, not {len(key.encode())}.")
            if len(value.encode()) > MAX_VALUE_BYTES:
                raise _over_quota(f"A value is at most {MAX_VALUE_BYTES} bytes.")
        missing = sorted(key for key in deletes if key not in store.items)
        if missing:
            raise _not_found(f"Key {missing[0]} was not found.")
        items = {key: value for key, value in store.items.items() if key not in deletes}
        items.update(puts)
        if sum(len(k.encode()) + len(v.encode()) for k, v in items.items()) > MAX_STORE_BYTES:
            raise _over_quota(f"A key value store holds at most {MAX_STORE_BYTES} bytes.")
        store.items, store.etag, store.last_modified = items, _new_etag(), time.time()
        return store.summary()

    # The API's operations, on parsed requests.

    def describe(self, arn: str) -> tuple[dict[str, Any], str]:
        store = self.store(arn)
        body = {
            **store.summary(),
            "KvsARN": arn,
            "Created": store.created,
            "LastModified": store.last_modified,
            "Status": "READY",
        }
        return body, store.etag

    def get_key(self, arn: str, key: str) -> dict[str, Any]:
        store = self.store(arn)
        if key not in store.items:
            raise _not_found(f"Key {key} was not found.")
        return {"Key": key, "Value": store.items[key], **store.summary()}

    def list_keys(self, arn: str, query: Mapping[str, list[str]]) -> dict[str, Any]:
        store = self.store(arn)
        try:
            limit = int(query.get("MaxResults", [str(LIST_KEYS_DEFAULT)])[0])
        except ValueError:
            raise _invalid("MaxResults is not a number.") from None
        if not 1 <= limit <= LIST_KEYS_MAX:
            raise _invalid(f"MaxResults must be from 1 to {LIST_KEYS_MAX}.")
        keys = sorted(store.items)
        start = 0
        if "NextToken" in query:
            try:
                after = base64.urlsafe_b64decode(query["NextToken"][0].encode()).decode()
            except ValueError:
                raise _invalid("NextToken is not one this API gave.") from None
            start = next((i for i, key in enumerate(keys) if key > after), len(keys))
        page = keys[start : start + limit]
        body: dict[str, Any] = {"Items": [{"Key": key, "Value": store.items[key]} for key in page]}
        if start + limit < len(keys):
            body["NextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return body

    def write(
        self, arn: str, puts: Mapping[str, str], deletes: set[str], if_match: str | None
    ) -> tuple[dict[str, Any], str]:
        with self._lock:
            store = self.store(arn)
            summary = self._write(store, puts, deletes, if_match)
            return summary, store.etag


def check_signature(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    now: float,
) -> None:
    """Raise ApiError unless the request is signed with SigV4A by known credentials and the
    signature verifies. ``headers`` are the request's, by lower-case name."""
    authorization = headers.get("authorization", "")
    if not authorization:
        raise ApiError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTHORIZATION.match(authorization)
    if match is None or match["algorithm"] != ALGORITHM:
        algorithm = authorization.split(" ", 1)[0]
        raise ApiError(
            403,
            "InvalidSignatureException",
            f"This API takes Signature Version 4A ({ALGORITHM}) only, not {algorithm}.",
        )
    signed = match["headers"].split(";")
    needed = {"host", "x-amz-date", REGION_SET_HEADER.lower()}
    if match["service"] != SERVICE or not needed <= set(signed):
        raise ApiError(
            403,
            "InvalidSignatureException",
            f"The signature must be for {SERVICE} and sign {', '.join(sorted(needed))}.",
        )
    if any(name not in headers for name in signed):
        raise ApiError(403, "InvalidSignatureException", "A signed header is missing.")
    stamp = headers["x-amz-date"]
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise ApiError(403, "InvalidSignatureException", f"X-Amz-Date {stamp!r}") from None
    if abs(now - signed_at) > MAX_CLOCK_SKEW_SECONDS or stamp[:8] != match["date"]:
        raise ApiError(403, "InvalidSignatureException", "Signature expired or not yet valid.")
    secret = credentials.get(match["akid"])
    if secret is None:
        raise ApiError(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    string_to_sign = sigv4a.string_to_sign(
        stamp, SERVICE, sigv4a.canonical_request(method, url, headers, body, signed)
    )
    key = derive_signing_key(match["akid"], secret).get_verifying_key()
    try:
        key.verify(
            bytes.fromhex(match["signature"]),
            string_to_sign.encode(),
            hashfunc=hashlib.sha256,
            sigdecode=sigdecode_der,
        )
    except (BadSignatureError, ValueError):
        raise ApiError(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        ) from None


def _dispatch(
    emulator: KeyValueStoreEmulator,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[dict[str, Any], str | None]:
    """The operation a request names, run: (JSON body, ETag header or None)."""
    parts = urllib.parse.urlsplit(path)
    route = _PATH.match(parts.path)
    if route is None:
        raise ApiError(404, "UnknownOperationException", f"No operation at {parts.path}.")
    arn = urllib.parse.unquote(route["arn"])
    key = urllib.parse.unquote(route["key"]) if route["key"] is not None else None
    operation = (method, route["keys"] is not None, key is not None)
    if operation == ("GET", False, False):
        return emulator.describe(arn)
    if operation == ("GET", True, False):
        return emulator.list_keys(arn, urllib.parse.parse_qs(parts.query)), None
    if operation == ("GET", True, True):
        return emulator.get_key(arn, str(key)), None
    if_match = headers.get("if-match")
    document = _json_body(body)
    if operation == ("PUT", True, True):
        value = document.get("Value")
        if not isinstance(value, str):
            raise _invalid("Value is required.")
        return emulator.write(arn, {str(key): value}, set(), if_match)
    if operation == ("DELETE", True, True):
        return emulator.write(arn, {}, {str(key)}, if_match)
    if operation == ("POST", True, False):
        puts, deletes = _batch(document)
        return emulator.write(arn, puts, deletes, if_match)
    raise ApiError(404, "UnknownOperationException", f"No operation {method} {parts.path}.")


def _json_body(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        document = json.loads(body)
    except ValueError:
        raise _invalid("The request body is not JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("The request body is not a JSON object.")
    return document


def _batch(document: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """UpdateKeys' Puts and Deletes."""
    puts: dict[str, str] = {}
    for item in document.get("Puts") or []:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(name), str) for name in ("Key", "Value")
        ):
            raise _invalid("Each of Puts is {Key, Value}.")
        puts[item["Key"]] = item["Value"]
    deletes = set()
    for item in document.get("Deletes") or []:
        if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
            raise _invalid("Each of Deletes is {Key}.")
        deletes.add(item["Key"])
    if puts.keys() & deletes:
        raise _invalid("A key is put and deleted in one request.")
    return puts, deletes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def _answer(self) -> None:
        emulator: KeyValueStoreEmulator = self.server.emulator  # type: ignore[attr-defined]
        emulator.requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        url = f"http://{headers.get('host', '')}{self.path}"
        etag: str | None = None
        try:
            if len(self.headers.get_all("Authorization") or []) > 1:
                raise ApiError(403, "InvalidSignatureException", "Two Authorization headers.")
            check_signature(self.command, url, headers, body, emulator.credentials, time.time())
            document, etag = _dispatch(emulator, self.command, self.path, headers, body)
            status = 200
        except ApiError as error:
            status, document = error.status, {"Message": error.message}
            self.error_code = error.code
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if etag is not None:
            self.send_header("ETag", etag)
        if status != 200:
            self.send_header("x-amzn-ErrorType", self.error_code)
        self.end_headers()
        self.wfile.write(data)

    error_code = ""
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass
