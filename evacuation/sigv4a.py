"""SigV4A request signing (``AWS4-ECDSA-P256-SHA256``) in pure Python, for the API that needs it.

CloudFront KeyValueStore's data plane "is a global service that uses Signature Version 4A (SigV4A)
for authentication" (CloudFront developer guide, "Work with key value data"). botocore signs SigV4A
only through the AWS Common Runtime (``awscrt``, ``pip install botocore[crt]``), a compiled package.
AWS documents that the Lambda Python runtime "includes the SDK for Python (Boto3)" (Lambda developer
guide, "Building Lambda functions with Python",
https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html), and nowhere that it includes
awscrt: public reports differ from one runtime to another
(aws-samples/amazon-cloudfront-with-s3-multi-region-access-points#1), so the function does not rely
on it. Nor can the program package it: the function carries what is installed beside the
program (``components.evacuator.package_files``), and a compiled package must be built for the
function's platform and Python (AWS's own sample fetches it with ``pip install --platform
manylinux1_x86_64 --only-binary=:all:``), not taken from an operator's machine of another. So this
module signs the whole request itself,
with the standard library and python-ecdsa (pure Python), and meets botocore only through its
documented interfaces: the client is made unsigned (``Config(signature_version=UNSIGNED)``, "Config
Reference", boto3), and ``sign_requests`` signs each request on botocore's ``before-send`` event,
"emitted when the operation has been fully serialized ... and is ready to be sent across the wire"
(botocore, "Botocore Events").

The request is signed as "Create a signed AWS API request" (IAM user guide) describes SigV4: a
canonical request (method, the path URI-encoded once more, the query sorted, the signed headers
lower-cased, trimmed and sorted, the payload's SHA-256), then SigV4A's string to sign (its
algorithm, the time, a scope without a Region, the canonical request's SHA-256) signed with ECDSA
P-256. The tests hold it to awscrt's signatures: awscrt's verify against this module's key and
string to sign, so both sign the same bytes.

The key derivation is NIST SP 800-108 in counter mode with HMAC-SHA256 over the secret key, as the
AWS SDKs derive it (aws-sdk-go-v2, internal/v4a: deriveKeyFromAccessKeyPair).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import NoCredentialsError
from ecdsa import NIST256p, SigningKey
from ecdsa.util import sigencode_der

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
# Every Region: the KeyValueStore API is global.
REGION_SET_HEADER = "X-Amz-Region-Set"
DATE_HEADER = "X-Amz-Date"
TOKEN_HEADER = "X-Amz-Security-Token"
# What the HTTP layer or a proxy may add or change on the way (botocore leaves the same unsigned)
# and the SDK's own per-attempt headers: never signed. Every other header the request carries is.
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "user-agent",
        "content-length",
        "expect",
        "transfer-encoding",
        "x-amzn-trace-id",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
    }
)
_KEY_BITS = 256


@dataclass(frozen=True)
class Credentials:
    """An access key pair, and the session token of temporary credentials."""

    access_key: str
    secret_key: str
    token: str | None = None


@functools.lru_cache(maxsize=8)
def derive_signing_key(access_key: str, secret_key: str) -> SigningKey:
    """The P-256 private key SigV4A derives from an access key pair."""
    order = NIST256p.order
    input_key = ("AWS4A" + secret_key).encode()
    for counter in range(1, 256):
        # i || label || 0x00 || context || L, with i = 1 (one HMAC block gives 256 bits), the
        # context the access key id and a one-byte external counter.
        fixed_input = (
            (1).to_bytes(4, "big")
            + ALGORITHM.encode()
            + b"\x00"
            + access_key.encode()
            + bytes([counter])
            + _KEY_BITS.to_bytes(4, "big")
        )
        candidate = int.from_bytes(hmac.new(input_key, fixed_input, hashlib.sha256).digest(), "big")
        if candidate < order - 2:
            return SigningKey.from_secret_exponent(
                candidate + 1, curve=NIST256p, hashfunc=hashlib.sha256
            )
    raise ValueError("no SigV4A key within 255 counter values")  # probability about 2^-8000


def canonical_request(
    method: str, url: str, headers: Mapping[str, str], body: bytes, signed: Sequence[str]
) -> str:
    """SigV4's canonical request. ``headers`` by lower-case name; ``signed``: the names signed,
    lower-case and sorted. The path is URI-encoded once more than it is in ``url`` (every service
    but S3 "must be URI-encoded twice"), and the query is taken as encoded and sorted."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.quote(parts.path or "/", safe="/~")
    pairs = sorted(pair.partition("=")[::2] for pair in parts.query.split("&") if pair)
    query = "&".join(f"{key}={value}" for key, value in pairs)
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    return "\n".join(
        [
            method.upper(),
            path,
            query,
            canonical_headers,
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def credential_scope(amz_date: str, service: str) -> str:
    """SigV4A's scope: the day and the service, no Region."""
    return f"{amz_date[:8]}/{service}/aws4_request"


def string_to_sign(amz_date: str, service: str, canonical: str) -> str:
    return "\n".join(
        [
            ALGORITHM,
            amz_date,
            credential_scope(amz_date, service),
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        ]
    )


def signature_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    service: str,
    credentials: Credentials,
    now: datetime,
) -> dict[str, str]:
    """The headers that sign a request (``headers``: what it carries already, any case): Host,
    X-Amz-Date, X-Amz-Region-Set, X-Amz-Security-Token with a session token, and Authorization.
    Every header the request carries is signed but ``UNSIGNED_HEADERS``."""
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    added = {
        "host": urllib.parse.urlsplit(url).netloc,
        DATE_HEADER: amz_date,
        REGION_SET_HEADER: "*",
    }
    if credentials.token:
        added[TOKEN_HEADER] = credentials.token
    carried = {name.lower(): value for name, value in {**headers, **added}.items()}
    signed = sorted(name for name in carried if name not in UNSIGNED_HEADERS)
    canonical = canonical_request(method, url, carried, body, signed)
    key = derive_signing_key(credentials.access_key, credentials.secret_key)
    # RFC 6979: deterministic, so no random number can leak the key.
    signature = key.sign_deterministic(
        string_to_sign(amz_date, service, canonical).encode("utf-8"),
        hashfunc=hashlib.sha256,
        sigencode=sigencode_der,
    ).hex()
    added["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{credential_scope(amz_date, service)}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return added


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def sign(
    request: Any, *, service: str, credentials: Credentials, now: datetime | None = None
) -> None:
    """Sign ``request`` (botocore's ``AWSPreparedRequest`` or ``AWSRequest``: ``method``, ``url``,
    ``headers``, ``body``) in place, replacing any signature it carries."""
    body = request.body if request.body is not None else b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        raise TypeError("only a request whose body is in memory can be signed here")
    headers = {
        name: _text(value)
        for name, value in request.headers.items()
        if name.lower() not in {"authorization", "host", "x-amz-date", "x-amz-security-token"}
    }
    added = signature_headers(
        request.method,
        request.url,
        headers,
        body,
        service=service,
        credentials=credentials,
        now=now or datetime.now(UTC),
    )
    for name, value in added.items():
        # botocore's headers add a value on assignment: the old one goes first.
        if name in request.headers:
            del request.headers[name]
        request.headers[name] = value


def sign_requests(
    client: Any,
    service: str,
    credentials: Callable[[], Credentials | None],
    *,
    rewrite_url: Callable[[str], str] | None = None,
) -> None:
    """Sign every request ``client`` (an unsigned botocore client of ``service``, its signing name
    and event name alike) sends with SigV4A, with the credentials ``credentials()`` gives at the
    time (so refreshed ones are used), after ``rewrite_url`` (if any) has changed its URL. No
    credentials: botocore's NoCredentialsError, as a signed client raises."""

    def before_send(request: Any, **_: Any) -> None:
        found = credentials()
        if found is None:
            raise NoCredentialsError()
        if rewrite_url is not None:
            request.url = rewrite_url(request.url)
        sign(request, service=service, credentials=found)

    client.meta.events.register(f"before-send.{service}", before_send)
