"""The pure-Python SigV4A signer signs what awscrt signs: awscrt's signatures verify against this
module's derived key and string to sign, for the KeyValueStore requests the evacuator makes, and
the signer names the same headers; it reaches botocore through documented interfaces only."""

import ast
import contextlib
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.exceptions import NoCredentialsError
from ecdsa import BadSignatureError
from ecdsa.util import sigdecode_der

from evacuation import sigv4a
from evacuation.lambda_function import keyvaluestore_client

awscrt = pytest.importorskip("awscrt", reason="awscrt (botocore[crt]) is the reference signer")

KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"
ACCESS_KEY, SECRET_KEY = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SERVICE = "cloudfront-keyvaluestore"
AUTHORIZATION = re.compile(
    r"^AWS4-ECDSA-P256-SHA256 Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/"
    r"cloudfront-keyvaluestore/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]+)$"
)
CALLS = [
    {"describe_key_value_store": {"KvsARN": KVS_ARN}},
    {"get_key": {"KvsARN": KVS_ARN, "Key": "rotation"}},
    {"put_key": {"KvsARN": KVS_ARN, "Key": "rotation", "Value": '{"out":[]}', "IfMatch": "E1"}},
    {"list_keys": {"KvsARN": KVS_ARN, "MaxResults": 10, "NextToken": "a b/c=="}},
]


def session(token=None):
    return boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, aws_session_token=token
    )


def sent_request(client, call):
    """The request ``client`` sends for ``call`` (as it leaves: after every other handler of
    before-send), without sending it."""
    sent = []

    def capture(request, **_):
        sent.append(request)
        return AWSResponse(request.url, 200, {"ETag": "E1"}, None)

    client.meta.events.register("before-send", capture)
    operation, arguments = next(iter(call.items()))
    # The fake response has no body to parse: what matters is the request that went out.
    with contextlib.suppress(Exception):
        getattr(client, operation)(**arguments)
    (request,) = sent
    return request


def crt_request(call, token=None):
    """The request botocore sends for ``call``, signed by awscrt (its own choice here)."""
    return sent_request(session(token).client(SERVICE, region_name="us-east-1"), call)


def header(request, name):
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else value


def headers_of(request):
    return {
        name.lower(): value.decode() if isinstance(value, bytes) else value
        for name, value in request.headers.items()
    }


def our_string_to_sign(request):
    """This module's string to sign for a request as it was sent, over the headers its
    Authorization names."""
    signed = AUTHORIZATION.match(header(request, "Authorization"))["headers"].split(";")
    canonical = sigv4a.canonical_request(
        request.method, request.url, headers_of(request), request.body or b"", signed
    )
    return sigv4a.string_to_sign(header(request, "X-Amz-Date"), SERVICE, canonical)


def verifies(request, string_to_sign):
    signature = AUTHORIZATION.match(header(request, "Authorization"))["signature"]
    key = sigv4a.derive_signing_key(ACCESS_KEY, SECRET_KEY).get_verifying_key()
    try:
        return key.verify(
            bytes.fromhex(signature),
            string_to_sign.encode(),
            hashfunc=hashlib.sha256,
            sigdecode=sigdecode_der,
        )
    except BadSignatureError:
        return False


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLETOKEN"])
@pytest.mark.parametrize("call", CALLS, ids=lambda call: next(iter(call)))
def test_awscrts_signature_verifies_against_this_modules_key_and_string_to_sign(call, token):
    request = crt_request(call, token)
    assert AUTHORIZATION.match(header(request, "Authorization")), header(request, "Authorization")
    assert header(request, "X-Amz-Region-Set") == "*"
    string_to_sign = our_string_to_sign(request)
    assert verifies(request, string_to_sign)
    # And a string to sign that differs in one character does not verify: the check can fail.
    assert not verifies(request, string_to_sign.replace("aws4_request", "aws4_requesT"))


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLETOKEN"])
@pytest.mark.parametrize("call", CALLS, ids=lambda call: next(iter(call)))
def test_signed_at_awscrts_time_this_signer_signs_the_same_string_as_awscrt(call, token):
    crt = crt_request(call, token)
    unsigned = {
        name: value
        for name, value in headers_of(crt).items()
        if name not in {"authorization", "host", "x-amz-date", "x-amz-region-set"}
        and name != "x-amz-security-token"
    }
    at = datetime.strptime(header(crt, "X-Amz-Date"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours = sigv4a.signature_headers(
        crt.method,
        crt.url,
        unsigned,
        crt.body or b"",
        service=SERVICE,
        credentials=sigv4a.Credentials(ACCESS_KEY, SECRET_KEY, token),
        now=at,
    )
    crt_authorization = AUTHORIZATION.match(header(crt, "Authorization"))
    our_authorization = AUTHORIZATION.match(ours["Authorization"])
    assert our_authorization["headers"] == crt_authorization["headers"]
    for name in ("host", "x-amz-date", "x-amz-region-set", "x-amz-security-token"):
        assert {k.lower(): v for k, v in ours.items()}.get(name) == headers_of(crt).get(name)
    # Both sign one string to sign: awscrt's signature verifies against the one this signer signed.
    signed = our_authorization["headers"].split(";")
    carried = {**unsigned, **{k.lower(): v for k, v in ours.items()}}
    canonical = sigv4a.canonical_request(crt.method, crt.url, carried, crt.body or b"", signed)
    assert verifies(crt, sigv4a.string_to_sign(header(crt, "X-Amz-Date"), SERVICE, canonical))


@pytest.mark.parametrize("call", CALLS, ids=lambda call: next(iter(call)))
def test_the_evacuators_client_signs_each_request_as_awscrt_does(call):
    ours = sent_request(keyvaluestore_client(session()), call)
    crt = crt_request(call)
    our_authorization = AUTHORIZATION.match(header(ours, "Authorization"))
    assert our_authorization, header(ours, "Authorization")
    crt_authorization = AUTHORIZATION.match(header(crt, "Authorization"))
    assert our_authorization["headers"] == crt_authorization["headers"]
    assert (ours.method, ours.url, ours.body) == (crt.method, crt.url, crt.body)
    assert header(ours, "X-Amz-Region-Set") == "*"
    assert header(ours, "host") == "123456789012.cloudfront-kvs.global.api.aws"
    assert verifies(ours, our_string_to_sign(ours))


def test_each_request_is_signed_with_the_credentials_of_the_moment_or_none_is_sent():
    client = boto3.session.Session().client(
        SERVICE, region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )
    keys = iter(["AKIDFIRST", "AKIDSECOND", None])

    def credentials():
        key = next(keys)
        return None if key is None else sigv4a.Credentials(key, SECRET_KEY, "TOKEN")

    sigv4a.sign_requests(client, SERVICE, credentials)
    first, second = (sent_request(client, CALLS[0]) for _ in range(2))
    assert AUTHORIZATION.match(header(first, "Authorization"))["akid"] == "AKIDFIRST"
    assert AUTHORIZATION.match(header(second, "Authorization"))["akid"] == "AKIDSECOND"
    assert header(second, "X-Amz-Security-Token") == "TOKEN"
    with pytest.raises(NoCredentialsError):
        client.describe_key_value_store(KvsARN=KVS_ARN)


def test_the_derived_key_is_the_sdk_test_vector():
    # aws-sdk-go-v2 internal/v4a credentials_test.go: access key AKISORANDOMAASORANDOM,
    # secret q+jcrXGc+0zWN6uzclKVhvMmUsIfRPa4rlRandom -> this private key.
    key = sigv4a.derive_signing_key(
        "AKISORANDOMAASORANDOM", "q+jcrXGc+0zWN6uzclKVhvMmUsIfRPa4rlRandom"
    )
    assert key.privkey.secret_multiplier == int(
        "7fd3bd010c0d9c292141c2b77bfbde1042c92e6836fff749d1269ec890fca1bd", 16
    )


def test_a_request_signed_twice_carries_one_signature_the_last():
    # botocore's headers add a value on assignment: a second Authorization, the first one first,
    # would reach a server that reads headers itself.
    request = AWSRequest(method="GET", url="https://123456789012.cloudfront-kvs.global.api.aws/x")
    credentials = sigv4a.Credentials(ACCESS_KEY, SECRET_KEY)
    earlier = datetime(2025, 1, 1, tzinfo=UTC)
    sigv4a.sign(request, service=SERVICE, credentials=credentials, now=earlier)
    sigv4a.sign(request, service=SERVICE, credentials=credentials)
    (authorization,) = request.headers.get_all("Authorization")
    (date,) = request.headers.get_all("X-Amz-Date")
    assert authorization.startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/")
    assert not date.startswith("2025")


def test_the_signer_meets_botocore_through_documented_interfaces_only():
    # botocore's documented surface: Config and UNSIGNED ("Config Reference"), its exceptions, and
    # the event system ("Botocore Events"); botocore.auth and private names are its internals.
    evacuation = Path(__file__).resolve().parents[2] / "evacuation"
    used = set()
    for module in evacuation.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("botocore"):
                used |= {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                used |= {a.name for a in node.names if a.name.startswith("botocore")}
    assert used <= {
        "botocore.UNSIGNED",
        "botocore.config.Config",
        *(
            f"botocore.exceptions.{name}"
            for name in (
                "BotoCoreError",
                "ClientError",
                "ConnectionClosedError",
                "ConnectionError",
                "HTTPClientError",
                "ConnectTimeoutError",
                "EndpointConnectionError",
                "NoCredentialsError",
                "ReadTimeoutError",
            )
        ),
    }, used
