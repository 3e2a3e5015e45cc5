import hashlib
import os

import boto3
import pytest
from botocore.stub import Stubber

from tools import publish, stack_buckets
from tools.cli import run_command as run_tool
from tools.folder import PART_BYTES, expected_etag

FILES = {"index.html", "app.js", "images/logo.png", "data.unknownext"}


def run(capsys, *argv):
    code = run_tool(publish.main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_publish_to_every_bucket_sets_types_and_cache_control(stack, site, capsys):
    code, out, _ = run(
        capsys,
        site,
        "--outputs",
        stack.outputs,
        "--endpoint-url",
        stack.endpoint,
        "--cache-control",
        "public, max-age=300",
    )
    assert code == 0, out
    assert "done: 12 uploaded, 0 failed" in out
    logo_md5 = hashlib.md5((site / "images" / "logo.png").read_bytes()).hexdigest()
    for region in stack.buckets:
        keys = stack.keys(region)
        assert set(keys) == FILES
        assert keys["images/logo.png"] == logo_md5
        head = stack.head(region, "index.html")
        assert head["ContentType"] == "text/html"
        assert head["CacheControl"] == "public, max-age=300"
    assert stack.head("eu-central-1", "app.js")["ContentType"] in (
        "text/javascript",
        "application/javascript",
    )
    assert (
        stack.head("eu-central-1", "data.unknownext")["ContentType"] == "application/octet-stream"
    )


def test_a_second_publish_uploads_nothing_and_a_changed_file_is_uploaded_alone(stack, site, capsys):
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint)
    assert run(capsys, *args)[0] == 0
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert out.count("uploading 0 of 4 files") == 3 and "done: 0 uploaded" in out
    (site / "app.js").write_text("console.log('geo v2');\n", encoding="utf-8")
    code, out, _ = run(capsys, *args)
    assert out.count("uploading 1 of 4 files") == 3 and "done: 3 uploaded" in out
    assert (
        stack.keys("ap-northeast-1")["app.js"]
        == hashlib.md5(b"console.log('geo v2');\n").hexdigest()
    )


def test_with_replication_publish_writes_only_the_nearest_bucket(replicated_stack, site, capsys):
    code, out, _ = run(
        capsys,
        site,
        "--outputs",
        replicated_stack.outputs,
        "--endpoint-url",
        replicated_stack.endpoint,
        "--from-region",
        "eu-west-2",
    )
    assert code == 0
    assert set(replicated_stack.keys("eu-central-1")) == FILES
    assert (
        replicated_stack.keys("us-east-1") == {} and replicated_stack.keys("ap-northeast-1") == {}
    )
    assert "replication copies them to the other Regions" in out


def test_with_replication_to_and_all_choose_the_buckets(replicated_stack, site, capsys):
    base = (
        site,
        "--outputs",
        replicated_stack.outputs,
        "--endpoint-url",
        replicated_stack.endpoint,
    )
    assert run(capsys, *base, "--to", "ap-northeast-1")[0] == 0
    assert (
        set(replicated_stack.keys("ap-northeast-1")) == FILES
        and replicated_stack.keys("us-east-1") == {}
    )
    assert run(capsys, *base, "--all")[0] == 0
    assert all(set(replicated_stack.keys(region)) == FILES for region in replicated_stack.buckets)


def test_replication_without_a_known_region_asks_for_one(replicated_stack, site, capsys):
    code, _, err = run(
        capsys,
        site,
        "--outputs",
        replicated_stack.outputs,
        "--endpoint-url",
        replicated_stack.endpoint,
    )
    assert code == 2
    assert "give --from-region REGION" in err


def test_dry_run_writes_nothing(stack, site, capsys):
    code, out, _ = run(
        capsys, site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--dry-run"
    )
    assert code == 0
    assert out.count("would upload 4 of 4 files") == 3
    assert "  eu-central-1 index.html (text/html, 13 bytes)" in out
    assert all(stack.keys(region) == {} for region in stack.buckets)


def test_explicit_bucket_flags(stack, site, capsys):
    flags = [f"--bucket={region}={name}" for region, name in stack.buckets.items()][:2]
    code, out, _ = run(capsys, site, *flags, "--endpoint-url", stack.endpoint)
    assert code == 0 and "done: 8 uploaded" in out
    assert stack.keys("ap-northeast-1") == {}


def test_progress_bar_reaches_every_byte(stack, site, capsys, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    code, _, err = run(
        capsys,
        site,
        "--outputs",
        stack.outputs,
        "--endpoint-url",
        stack.endpoint,
        "--to",
        "us-east-1",
    )
    assert code == 0
    assert "100.0%" in err.split("\r")[-1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{missing}", "--outputs", "{outputs}"], "error: no folder at"),
        (
            ["{site}", "--bucket", "eu-central-1=no-such-bucket-geo"],
            "error: bucket no-such-bucket-geo (eu-central-1) does not exist",
        ),
        (
            ["{site}", "--bucket", "eu-central-9=x"],
            "error: --bucket eu-central-9=x: 'eu-central-9' is not an AWS Region code",
        ),
        (["{site}", "--bucket", "eu-central-1"], "is not REGION=NAME"),
        (
            ["{site}", "--outputs", "{site}/index.html"],
            "are not JSON; produce them with `pulumi stack output --json`",
        ),
        (
            ["{site}", "--outputs", "{outputs}", "--to", "sa-east-1"],
            "--to sa-east-1: the stack has no bucket there",
        ),
    ],
)
def test_clear_errors(stack, site, capsys, tmp_path, argv, message):
    values = {"site": site, "outputs": stack.outputs, "missing": tmp_path / "missing"}
    code, _, err = run(
        capsys, *[a.format(**values) for a in argv], "--endpoint-url", stack.endpoint
    )
    assert code == 2
    assert message in err
    assert all(stack.keys(region) == {} for region in stack.buckets)


def test_unreachable_endpoint_and_missing_credentials(stack, site, capsys, monkeypatch):
    from tests.support import free_port

    code, _, err = run(
        capsys,
        site,
        "--outputs",
        stack.outputs,
        "--endpoint-url",
        f"http://127.0.0.1:{free_port()}",
    )
    assert code == 2 and "error: cannot reach S3 for" in err
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = run(capsys, site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint)
    assert code == 2 and "error: no AWS credentials found" in err


def test_a_large_file_goes_up_in_parts_its_etag_is_known_and_a_second_run_skips_it(
    stack, site, capsys
):
    large = site / "video.bin"
    # Three parts: two of 8 MiB and a short one, bytes that differ per part.
    large.write_bytes(b"".join(bytes([n]) * PART_BYTES for n in (1, 2)) + b"tail" * 1000)
    size = large.stat().st_size
    parts = [hashlib.md5(bytes([n]) * PART_BYTES).digest() for n in (1, 2)] + [
        hashlib.md5(b"tail" * 1000).digest()
    ]
    expected = hashlib.md5(b"".join(parts)).hexdigest() + "-3"
    assert expected_etag(large, size) == expected
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--to", "us-east-1")
    code, out, _ = run(capsys, *args)
    assert code == 0, out
    assert stack.keys("us-east-1")["video.bin"] == expected
    code, out, _ = run(capsys, *args)
    assert "uploading 0 of 5 files" in out and code == 0


def test_every_upload_carries_a_checksum_s3_verifies(stack, site, capsys, monkeypatch):
    sent = []
    original = stack_buckets.s3_client

    def recording(*args, **kwargs):
        client = original(*args, **kwargs)
        client.meta.events.register(
            "before-send.s3.PutObject",
            lambda request, **_: sent.append(request.headers.get("x-amz-checksum-sha256")),
        )
        return client

    monkeypatch.setattr(stack_buckets, "s3_client", recording)
    code, out, _ = run(
        capsys,
        site,
        "--outputs",
        stack.outputs,
        "--endpoint-url",
        stack.endpoint,
        "--to",
        "eu-central-1",
    )
    assert code == 0, out
    assert len(sent) == len(FILES) and all(sent)


@pytest.mark.parametrize("concurrency", ["1", "32"])
def test_any_concurrency_publishes_the_same(stack, site, capsys, concurrency):
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--all")
    code, out, _ = run(capsys, *args, "--concurrency", concurrency)
    assert code == 0 and "done: 12 uploaded, 0 failed" in out
    assert all(set(stack.keys(region)) == FILES for region in stack.buckets)


def test_concurrency_zero_is_a_one_line_error(capsys, site):
    with pytest.raises(SystemExit) as exited:
        publish.main([str(site), "--bucket", "us-east-1=b", "--concurrency", "0"])
    assert exited.value.code == 2
    assert "--concurrency: 0 is not a number of requests (1 or more)" in capsys.readouterr().err


def test_a_new_cache_control_is_applied_to_unchanged_files_in_place(stack, site, capsys):
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--to", "us-east-1")
    assert run(capsys, *args)[0] == 0
    before = stack.keys("us-east-1")
    code, out, _ = run(capsys, *args, "--cache-control", "public, max-age=60")
    assert code == 0, out
    assert "uploading 0 of 4 files (0 bytes); updating the metadata of 4" in out
    assert "done: 0 uploaded, 4 with new metadata, 0 failed" in out
    for key in FILES:
        assert stack.head("us-east-1", key)["CacheControl"] == "public, max-age=60"
    # Copied in place: the same bytes, so the same ETags, and a second run has nothing to do.
    assert stack.keys("us-east-1") == before
    code, out, _ = run(capsys, *args, "--cache-control", "public, max-age=60")
    assert "uploading 0 of 4 files (0 bytes)\n" in out and "done: 0 uploaded, 0 failed" in out
    # Without it, unchanged objects are left as they are, as aws s3 sync leaves them...
    code, out, _ = run(capsys, *args)
    assert code == 0 and "uploading 0 of 4 files (0 bytes)\n" in out
    assert stack.head("us-east-1", "index.html")["CacheControl"] == "public, max-age=60"
    # ...unless asked: then they end as a run without it uploads them, with no Cache-Control.
    code, out, _ = run(capsys, *args, "--check-metadata")
    assert code == 0 and "updating the metadata of 4" in out
    assert "CacheControl" not in stack.head("us-east-1", "index.html")


def test_a_run_that_sets_no_metadata_reads_none_back(stack, site, capsys, monkeypatch):
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--to", "us-east-1")
    assert run(capsys, *args)[0] == 0
    sent = []
    made = stack_buckets.s3_client

    def counting_client(*arguments, **keywords):
        client = made(*arguments, **keywords)
        client.meta.events.register("before-call.s3", lambda model, **_: sent.append(model.name))
        return client

    monkeypatch.setattr(stack_buckets, "s3_client", counting_client)
    code, out, _ = run(capsys, *args)
    assert code == 0 and "uploading 0 of 4 files (0 bytes)\n" in out
    # The listing alone: no HeadObject per unchanged file (2,000 requests for 2,000 files).
    assert set(sent) == {"ListObjectsV2"}
    code, out, _ = run(capsys, *args, "--check-metadata")
    assert code == 0 and sent.count("HeadObject") == len(FILES)


def test_a_wrong_content_type_is_corrected_and_the_dry_run_says_what_differs(stack, site, capsys):
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--to", "us-east-1")
    # The same bytes, put by another tool with another type.
    stack.client("us-east-1").put_object(
        Bucket=stack.buckets["us-east-1"],
        Key="index.html",
        Body=(site / "index.html").read_bytes(),
        ContentType="application/octet-stream",
    )
    code, out, _ = run(capsys, *args, "--dry-run", "--check-metadata")
    assert code == 0
    assert "would upload 3 of 4 files" in out and "would update the metadata of 1" in out
    assert (
        "  us-east-1 index.html: metadata ContentType: 'application/octet-stream' -> 'text/html'"
        in out
    )
    assert stack.head("us-east-1", "index.html")["ContentType"] == "application/octet-stream"
    code, out, _ = run(capsys, *args, "--check-metadata")
    assert code == 0 and "done: 3 uploaded, 1 with new metadata, 0 failed" in out
    assert stack.head("us-east-1", "index.html")["ContentType"] == "text/html"


def test_a_multipart_object_with_new_metadata_is_uploaded_again_and_keeps_its_etag(
    stack, site, capsys
):
    large = site / "video.bin"
    large.write_bytes(b"v" * PART_BYTES + b"tail")
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--to", "us-east-1")
    assert run(capsys, *args)[0] == 0
    etag = stack.keys("us-east-1")["video.bin"]
    assert etag.endswith("-2")
    code, out, _ = run(capsys, *args, "--cache-control", "no-cache")
    assert code == 0, out
    # A copy in one piece would give it a plain MD5 and a third run would upload it again.
    assert f"uploading 1 of 5 files ({large.stat().st_size:,} bytes)" in out
    assert stack.keys("us-east-1")["video.bin"] == etag
    assert stack.head("us-east-1", "video.bin")["CacheControl"] == "no-cache"


def test_an_object_changed_since_it_was_compared_is_uploaded_not_copied(site):
    """The copy in place is conditional on the ETag that was compared; S3 answers 412
    PreconditionFailed when the object changed since (moto ignores the condition: botocore's
    Stubber, which checks every request against S3's model, gives S3's answer)."""
    from tools.folder import scan_folder
    from tools.uploads import BucketPublisher, Progress

    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    local = next(f for f in scan_folder(site, "") if f.key == "index.html")
    with Stubber(client) as stub:
        stub.add_client_error(
            "copy_object",
            service_error_code="PreconditionFailed",
            http_status_code=412,
            expected_params={
                "Bucket": "b",
                "Key": "index.html",
                "CopySource": {"Bucket": "b", "Key": "index.html"},
                "CopySourceIfMatch": f'"{local.etag}"',
                "MetadataDirective": "REPLACE",
                "ChecksumAlgorithm": "SHA256",
                "ContentType": "text/html",
            },
        )
        stub.add_response(
            "put_object",
            {},
            expected_params={
                "Bucket": "b",
                "Key": "index.html",
                "Body": (site / "index.html").read_bytes(),
                "ChecksumAlgorithm": "SHA256",
                "ContentType": "text/html",
            },
        )
        publisher = BucketPublisher(
            client,
            "b",
            "us-east-1",
            cache_control=None,
            concurrency=1,
            progress=Progress(0, enabled=False, write=print),
        )
        publisher.start_single_requests([], [local])
        publisher.wait()
        outcome = publisher.tally()
        publisher.close()
        stub.assert_no_pending_responses()
    assert (outcome.updated, outcome.failures) == (1, [])


def test_what_cannot_be_an_object_is_skipped_with_a_line_and_exit_status_1(stack, site, capsys):
    os.mkfifo(site / "pipe")
    (site / "gone.html").symlink_to(site / "nowhere.html")
    code, out, err = run(
        capsys,
        site,
        "--outputs",
        stack.outputs,
        "--endpoint-url",
        stack.endpoint,
        "--to",
        "us-east-1",
    )
    assert code == 1
    assert err.splitlines() == [
        f"skipped {site}/gone.html: a symbolic link to nothing",
        f"skipped {site}/pipe: a FIFO, not a regular file",
    ]
    assert "done: 4 uploaded, 0 failed, 2 skipped (above)" in out
    assert set(stack.keys("us-east-1")) == FILES


def test_a_multipart_upload_that_cannot_be_aborted_is_named_with_the_command_that_does_it():
    """After a stop, this run's unfinished multipart uploads are aborted; one whose abort S3
    refuses is told with the exact command to abort it, not left unsaid."""
    from tools.uploads import BucketPublisher, Progress

    client = boto3.client(
        "s3", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    publisher = BucketPublisher(
        client,
        "site-bucket",
        "eu-west-1",
        cache_control=None,
        concurrency=1,
        progress=Progress(0, enabled=False, write=print),
    )
    with Stubber(client) as stub:
        stub.add_response(
            "create_multipart_upload",
            {"Bucket": "site-bucket", "Key": "video one.bin", "UploadId": "upload-7"},
        )
        stub.add_client_error(
            "abort_multipart_upload",
            service_error_code="AccessDenied",
            http_status_code=403,
            expected_params={
                "Bucket": "site-bucket",
                "Key": "video one.bin",
                "UploadId": "upload-7",
            },
        )
        # The upload s3transfer would have begun before the stop.
        client.create_multipart_upload(Bucket="site-bucket", Key="video one.bin")
        publisher.cancel()
        stub.assert_no_pending_responses()
    assert publisher.tally().left_behind == [
        "an unfinished multipart upload of video one.bin in site-bucket (eu-west-1) (not "
        "aborted: AccessDenied); its parts stay stored until: aws s3api abort-multipart-upload "
        "--region eu-west-1 --bucket site-bucket --key 'video one.bin' --upload-id upload-7 (or "
        "the bucket's lifecycle rule aborts it after 7 days)"
    ]


def test_a_file_gone_since_it_was_scanned_is_a_failure_line(tmp_path):
    from tools.folder import LocalFile
    from tools.uploads import BucketPublisher, Progress

    client = boto3.client(
        "s3", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    gone = LocalFile(tmp_path / "gone.html", "gone.html", 10, "0" * 32)
    publisher = BucketPublisher(
        client,
        "site-bucket",
        "eu-west-1",
        cache_control=None,
        concurrency=1,
        progress=Progress(0, enabled=False, write=print),
    )
    with Stubber(client):  # no request may be sent
        publisher.start_single_requests([gone], [])
        publisher.wait()
        outcome = publisher.tally()
    publisher.close()
    assert outcome.failures == ["eu-west-1 gone.html: cannot read it: No such file or directory"]
