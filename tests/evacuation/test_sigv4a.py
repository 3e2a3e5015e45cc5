"""The pure-Python SigV4A signer signs what awscrt signs: awscrt's signatures verify against this
module's derived key and string to sign, for the KeyValueStore requests the evacuator makes."""

import contextlib
import hashlib
import re

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials
from ecdsa import BadSignatureError
from ecdsa.util import sigdecode_der

from evacuation import sigv4a

awscrt = pytest.importorskip("awscrt", reason="awscrt (botocore[crt]) is the reference signer")

KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"
AUTHORIZATION = re.compile(
    r"^AWS4-ECDSA-P256-SHA256 Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/"
    r"cloudfront-keyvaluestore/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]+)$"
)


def captured_request(signer_class, token=None, **call):
    """The request a cloudfront-keyvaluestore client sends for ``call``, signed by
    ``signer_class`` (None: botocore's own choice, awscrt here), without sending it."""
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        aws_session_token=token,
    )
    client = session.client("cloudfront-keyvaluestore", region_name="us-east-1")
    sent = []

    def capture(request, **_):
        sent.append(request)
        return AWSResponse(request.url, 200, {"ETag": "E1"}, None)

    client.meta.events.register("before-send", capture)
    original = botocore.auth.AUTH_TYPE_MAPS["v4a"]
    if signer_class is not None:
        botocore.auth.AUTH_TYPE_MAPS["v4a"] = signer_class
    try:
        operation, arguments = next(iter(call.items()))
        # The fake response has no body to parse: what matters is the request that went out.
        with contextlib.suppress(Exception):
            getattr(client, operation)(**arguments)
    finally:
        botocore.auth.AUTH_TYPE_MAPS["v4a"] = original
    (request,) = sent
    return request


def our_string_to_sign(request, token=None):
    """This module's string to sign for a request as it was signed: its date, and the headers its
    Authorization names (botocore adds a few more, unsigned, after signing)."""
    signed = AUTHORIZATION.match(header(request, "Authorization"))["headers"].split(";")
    credentials = Credentials(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token=token
    )
    signer = sigv4a.SigV4AAuth(credentials, "cloudfront-keyvaluestore", "*")

    replay = AWSRequest(
        method=request.method,
        url=request.url,
        headers={
            name: value.decode() if isinstance(value, bytes) else value
            for name, value in request.headers.items()
            if name.lower() in signed
        },
        data=request.body,
    )
    replay.context["timestamp"] = replay.headers["X-Amz-Date"]
    canonical = signer.canonical_request(replay)
    return signer.string_to_sign(replay, canonical), signer.signed_headers(
        signer.headers_to_sign(replay)
    )


def header(request, name):
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else value


CALLS = [
    {"describe_key_value_store": {"KvsARN": KVS_ARN}},
    {"get_key": {"KvsARN": KVS_ARN, "Key": "rotation"}},
    {"put_key": {"KvsARN": KVS_ARN, "Key": "rotation", "Value": '{"out":[]}', "IfMatch": "E1"}},
]


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLETOKEN"])
@pytest.mark.parametrize("call", CALLS, ids=lambda call: next(iter(call)))
def test_awscrts_signature_verifies_against_this_modules_key_and_string_to_sign(call, token):
    assert botocore.auth.AUTH_TYPE_MAPS["v4a"] is not sigv4a.SigV4AAuth  # awscrt's own
    request = captured_request(None, token=token, **call)
    match = AUTHORIZATION.match(header(request, "Authorization"))
    assert match, header(request, "Authorization")
    assert header(request, "X-Amz-Region-Set") == "*"
    string_to_sign, signed_headers = our_string_to_sign(request, token)
    assert signed_headers == match["headers"]
    key = sigv4a.derive_signing_key(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    ).get_verifying_key()
    assert key.verify(
        bytes.fromhex(match["signature"]),
        string_to_sign.encode(),
        hashfunc=hashlib.sha256,
        sigdecode=sigdecode_der,
    )
    # And a string to sign that differs in one character does not verify: the check can fail.
    with pytest.raises(BadSignatureError):
        key.verify(
            bytes.fromhex(match["signature"]),
            string_to_sign.replace("aws4_request", "aws4_requesT").encode(),
            hashfunc=hashlib.sha256,
            sigdecode=sigdecode_der,
        )


@pytest.mark.parametrize("call", CALLS, ids=lambda call: next(iter(call)))
def test_this_signer_signs_the_same_headers_in_the_same_form(call):
    crt = captured_request(None, **call)
    ours = captured_request(sigv4a.SigV4AAuth, **call)
    crt_auth = AUTHORIZATION.match(header(crt, "Authorization"))
    our_auth = AUTHORIZATION.match(header(ours, "Authorization"))
    assert our_auth, header(ours, "Authorization")
    assert our_auth["headers"] == crt_auth["headers"]
    assert header(ours, "X-Amz-Region-Set") == "*"
    string_to_sign, _ = our_string_to_sign(ours)
    key = sigv4a.derive_signing_key(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    ).get_verifying_key()
    assert key.verify(
        bytes.fromhex(our_auth["signature"]),
        string_to_sign.encode(),
        hashfunc=hashlib.sha256,
        sigdecode=sigdecode_der,
    )


def test_register_keeps_awscrt_where_it_is_installed_and_fills_the_gap_elsewhere(monkeypatch):
    maps = {"v4": object()}
    monkeypatch.setattr(sigv4a, "AUTH_TYPE_MAPS", maps)
    sigv4a.register()
    assert maps["v4a"] is sigv4a.SigV4AAuth
    crt = object()
    maps["v4a"] = crt
    sigv4a.register()
    assert maps["v4a"] is crt


def test_the_derived_key_is_the_sdk_test_vector():
    # aws-sdk-go-v2 internal/v4a credentials_test.go: access key AKISORANDOMAASORANDOM,
    # secret q+jcrXGc+0zWN6uzclKVhvMmUsIfRPa4rlRandom -> this private key.
    key = sigv4a.derive_signing_key(
        "AKISORANDOMAASORANDOM", "q+jcrXGc+0zWN6uzclKVhvMmUsIfRPa4rlRandom"
    )
    assert key.privkey.secret_multiplier == int(
        "7fd3bd010c0d9c292141c2b77bfbde1042c92e6836fff749d1269ec890fca1bd", 16
    )


def test_a_signed_request_carries_one_authorization_header():
    # botocore's headers add a value on assignment: a second header, the SigV4 one first, would
    # reach a server that reads headers itself (the client path sends the last one only).
    request = AWSRequest(method="GET", url="https://123456789012.cloudfront-kvs.global.api.aws/x")
    sigv4a.SigV4AAuth(
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        "cloudfront-keyvaluestore",
        "*",
    ).add_auth(request)
    (authorization,) = request.headers.get_all("Authorization")
    assert authorization.startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/")
