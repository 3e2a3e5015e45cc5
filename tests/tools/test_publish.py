import hashlib

import pytest

from tools import publish
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
    original = publish.upload_all

    def recording(client, *args, **kwargs):
        client.meta.events.register(
            "before-send.s3.PutObject",
            lambda request, **_: sent.append(request.headers.get("x-amz-checksum-sha256")),
        )
        return original(client, *args, **kwargs)

    monkeypatch.setattr(publish, "upload_all", recording)
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
