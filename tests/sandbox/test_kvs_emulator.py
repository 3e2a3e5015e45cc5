"""The key value store emulator, driven by botocore's own ``cloudfront-keyvaluestore`` client as
it drives AWS's, signed by awscrt and by the pure-Python SigV4A signer: every data-plane operation,
ETags and If-Match, 404s, ListKeys' pages, the quotas, and what it refuses to accept (another
signature algorithm, unknown or wrong credentials, an old signature, a tampered body); and a
CloudFront function that reads it live."""

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3
import botocore.exceptions
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from edge_function.cloudfront_function import origin_id, render_function_code
from evacuation import sigv4a
from evacuation.lambda_function import keyvaluestore_client
from evacuation.state import ROTATION_KEY, KeyValueStore, out_value
from routing.table import derive_routing_table
from sandbox.function_runtime import CloudFrontFunction, edge_location, viewer_request_event
from sandbox.kvs import KeyValueStoreEmulator

pytest.importorskip("awscrt", reason="awscrt (botocore[crt]) is the reference SigV4A signer")

ACCOUNT = "123456789012"
SERVICE = "cloudfront-keyvaluestore"
CREDENTIALS = {"sandbox": "sandbox"}


@pytest.fixture(scope="module")
def emulator():
    with KeyValueStoreEmulator(CREDENTIALS, ACCOUNT) as running:
        yield running


@pytest.fixture(params=["awscrt", "pure-python"])
def signer(request):
    """Who signs the client's requests with SigV4A: awscrt, as botocore does with it installed,
    or ``evacuation.sigv4a``, as the evacuator and the break-glass commands do."""
    return request.param


def client_for(emulator, key="sandbox", secret="sandbox", signer="pure-python"):
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret)
    if signer == "pure-python":
        return keyvaluestore_client(session, emulator.endpoint)
    client = session.client(SERVICE, region_name="us-east-1", endpoint_url=emulator.endpoint)
    authority = urllib.parse.urlsplit(emulator.endpoint).netloc

    def to_the_endpoint(request, **_):
        # The endpoint rules put the account in front of the emulator's host: take it off before
        # awscrt signs the host.
        parts = urllib.parse.urlsplit(request.url)
        request.url = urllib.parse.urlunsplit(parts._replace(netloc=authority))

    client.meta.events.register(f"before-sign.{SERVICE}", to_the_endpoint)
    return client


@pytest.fixture
def store(emulator):
    return emulator.create("test")


def test_every_operation_as_botocore_drives_it(emulator, store, signer):
    client = client_for(emulator, signer=signer)
    first = client.describe_key_value_store(KvsARN=store)
    assert (first["KvsARN"], first["ItemCount"], first["TotalSizeInBytes"]) == (store, 0, 0)
    put = client.put_key(KvsARN=store, Key="rotation", Value='{"out":[]}', IfMatch=first["ETag"])
    assert put["ItemCount"] == 1 and put["TotalSizeInBytes"] == len("rotation") + 10
    assert put["ETag"] != first["ETag"]
    assert client.describe_key_value_store(KvsARN=store)["ETag"] == put["ETag"]
    got = client.get_key(KvsARN=store, Key="rotation")
    assert (got["Key"], got["Value"]) == ("rotation", '{"out":[]}')
    updated = client.update_keys(
        KvsARN=store,
        IfMatch=put["ETag"],
        Puts=[{"Key": f"key-{n:02}", "Value": str(n)} for n in range(23)],
        Deletes=[{"Key": "rotation"}],
    )
    assert updated["ItemCount"] == 23
    page = client.list_keys(KvsARN=store, MaxResults=10)
    assert [item["Key"] for item in page["Items"]] == [f"key-{n:02}" for n in range(10)]
    every = client.get_paginator("list_keys").paginate(KvsARN=store).build_full_result()
    assert [item["Value"] for item in every["Items"]] == [str(n) for n in range(23)]
    deleted = client.delete_key(KvsARN=store, Key="key-00", IfMatch=updated["ETag"])
    assert deleted["ItemCount"] == 22


def test_a_write_on_a_stale_etag_is_a_conflict_and_the_store_keeps_its_value(
    emulator, store, signer
):
    client = client_for(emulator, signer=signer)
    etag = client.describe_key_value_store(KvsARN=store)["ETag"]
    client.put_key(KvsARN=store, Key="rotation", Value="first", IfMatch=etag)
    with pytest.raises(client.exceptions.ConflictException):
        client.put_key(KvsARN=store, Key="rotation", Value="second", IfMatch=etag)
    with pytest.raises(client.exceptions.ConflictException):
        client.update_keys(KvsARN=store, IfMatch=etag, Deletes=[{"Key": "rotation"}])
    assert client.get_key(KvsARN=store, Key="rotation")["Value"] == "first"
    # The evacuator's writer reads the ETag and retries a race once: it lands.
    KeyValueStore(client, store).put(ROTATION_KEY, out_value({"eu-west-1"}))
    assert client.get_key(KvsARN=store, Key=ROTATION_KEY)["Value"] == '{"out":["eu-west-1"]}'


def test_a_missing_key_or_store_is_a_404(emulator, store, signer):
    client = client_for(emulator, signer=signer)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_key(KvsARN=store, Key="nothing-here")
    etag = client.describe_key_value_store(KvsARN=store)["ETag"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_key(KvsARN=store, Key="nothing-here", IfMatch=etag)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_keys(KvsARN=store, IfMatch=etag, Deletes=[{"Key": "nothing-here"}])
    missing = f"arn:aws:cloudfront::{ACCOUNT}:key-value-store/00000000-0000-0000-0000-0000000000"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_key_value_store(KvsARN=missing)
    assert KeyValueStore(client, store).get("nothing-here") is None


def test_list_keys_pages_at_most_50(emulator, store):
    client = client_for(emulator)
    with pytest.raises(client.exceptions.ValidationException, match="MaxResults"):
        client.list_keys(KvsARN=store, MaxResults=51)


@pytest.mark.parametrize(
    ("puts", "why"),
    [
        ([{"Key": "k" * 513, "Value": "v"}], "a key of 513 bytes"),
        ([{"Key": "é" * 257, "Value": "v"}], "a key of 514 bytes in 257 characters"),
        ([{"Key": "k", "Value": "v" * 1025}], "a value of 1025 bytes"),
        ([{"Key": f"k{n}", "Value": "v"} for n in range(51)], "51 keys in one request"),
    ],
)
def test_the_quotas_are_refused(emulator, store, puts, why):
    client = client_for(emulator)
    etag = client.describe_key_value_store(KvsARN=store)["ETag"]
    with pytest.raises(client.exceptions.ServiceQuotaExceededException):
        client.update_keys(KvsARN=store, IfMatch=etag, Puts=puts)
    assert client.describe_key_value_store(KvsARN=store)["ItemCount"] == 0, why
    # At the limits, accepted.
    client.put_key(KvsARN=store, Key="k" * 512, Value="v" * 1024, IfMatch=etag)


def signed(method, url, *, signer, body=b"", headers=None, sent_body=None, at=None):
    """A request signed by hand, with SigV4A (``signer`` "sigv4a", at ``at``: by default now),
    botocore's SigV4 ("sigv4") or not at all (None), sending ``sent_body`` (by default the body
    signed)."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    if signer == "sigv4":
        SigV4Auth(Credentials("sandbox", "sandbox"), SERVICE, "us-east-1").add_auth(request)
    elif signer == "sigv4a":
        credentials = sigv4a.Credentials("sandbox", "sandbox")
        sigv4a.sign(request, service=SERVICE, credentials=credentials, now=at)
    data = body if sent_body is None else sent_body
    return urllib.request.Request(
        request.url, data=data or None, headers=dict(request.headers), method=method
    )


def raw(emulator, method, path, *, signer=None, body=b"", headers=None, sent_body=None, at=None):
    """(status, error type, JSON body) of a request signed by hand."""
    prepared = signed(
        method,
        emulator.endpoint + path,
        signer=signer,
        body=body,
        headers=headers,
        sent_body=sent_body,
        at=at,
    )
    try:
        with urllib.request.urlopen(prepared, timeout=10) as answer:
            return answer.status, None, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["x-amzn-ErrorType"], json.loads(error.read())


def arn_path(store, suffix=""):
    return f"/key-value-stores/{urllib.parse.quote(store, safe='')}{suffix}"


def test_only_sigv4a_signatures_that_verify_are_accepted(emulator, store):
    path = arn_path(store)
    assert raw(emulator, "GET", path, signer="sigv4a")[0] == 200
    assert raw(emulator, "GET", path)[:2] == (403, "MissingAuthenticationTokenException")
    status, code, body = raw(emulator, "GET", path, signer="sigv4")
    assert (status, code) == (403, "InvalidSignatureException")
    assert "AWS4-ECDSA-P256-SHA256" in body["Message"]
    with pytest.raises(botocore.exceptions.ClientError, match="UnrecognizedClientException"):
        client_for(emulator, key="someone-else").describe_key_value_store(KvsARN=store)
    with pytest.raises(botocore.exceptions.ClientError, match="InvalidSignatureException"):
        client_for(emulator, secret="not-the-secret").describe_key_value_store(KvsARN=store)


def test_an_old_signature_or_a_tampered_body_is_refused(emulator, store):
    etag = client_for(emulator).describe_key_value_store(KvsARN=store)["ETag"]
    put = {
        "body": b'{"Value": "{\\"out\\":[]}"}',
        "headers": {"If-Match": etag, "Content-Type": "application/json"},
    }
    path = arn_path(store, "/keys/rotation")
    tampered = b'{"Value": "{\\"out\\":[\\"us-east-1\\"]}"}'
    status, code, _ = raw(emulator, "PUT", path, signer="sigv4a", sent_body=tampered, **put)
    assert (status, code) == (403, "InvalidSignatureException")
    # "a request must reach AWS within five minutes of the time stamp in the request"
    six_minutes_ago = datetime.now(UTC) - timedelta(minutes=6)
    status, code, _ = raw(emulator, "PUT", path, signer="sigv4a", at=six_minutes_ago, **put)
    assert (status, code) == (403, "InvalidSignatureException")
    # Neither changed the store; the same request signed now does.
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFoundException"):
        client_for(emulator).get_key(KvsARN=store, Key="rotation")
    assert raw(emulator, "PUT", path, signer="sigv4a", **put)[0] == 200


def test_a_write_without_if_match_is_refused(emulator, store):
    # botocore refuses to send one (the model requires IfMatch), so it is signed by hand.
    status, code, _ = raw(
        emulator,
        "PUT",
        arn_path(store, "/keys/rotation"),
        signer="sigv4a",
        body=b'{"Value": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert (status, code) == (400, "ValidationException")


def test_a_cloudfront_function_reads_the_store_as_it_is_at_each_invocation(emulator, store):
    table = derive_routing_table(["us-east-1", "eu-west-1"])
    function = CloudFrontFunction(
        render_function_code(table, (500, 502, 503, 504), ROTATION_KEY),
        [origin_id(region) for region in table.origins],
        kvs=emulator.items(store),
    )
    event = viewer_request_event("GET", "/index.html", host="d.example", client_ip="192.0.2.9")

    def primary():
        result = function.invoke(event, edge_location("eu-west-2"))
        assert result.error is None and result.kvs_reads == 1
        return result.choice.origin_ids[0]

    assert primary() == "s3-eu-west-1"  # no key: routed by the rankings
    KeyValueStore(client_for(emulator), store).put(ROTATION_KEY, out_value({"eu-west-1"}))
    assert primary() == "s3-us-east-1"  # the next invocation reads the new value
    emulator.unreadable = True
    try:
        assert primary() == "s3-eu-west-1"  # unreadable: routed by the rankings, no error
    finally:
        emulator.unreadable = False
    assert primary() == "s3-us-east-1"
