"""Publish and drift against the sandbox's S3 emulators: one endpoint per Region, as ./dev sandbox
serve prints."""

import uuid

import pytest

from sandbox.regional_s3 import S3Emulators
from settings.table import PROJECT_ROOT
from tools import drift, publish
from tools.cli import run_command

EXAMPLE_SITE = PROJECT_ROOT / "examples" / "site"
REGIONS = ("us-east-1", "eu-central-1")


@pytest.fixture
def emulators(aws_credentials):
    # moto keeps one backend per process: every test gets buckets of its own.
    run = uuid.uuid4().hex[:8]
    with S3Emulators({region: f"geo-endpoints-{run}-{region}" for region in REGIONS}) as running:
        yield running


def bucket_flags(emulators):
    return [f"--bucket={region}={bucket}" for region, bucket in emulators.buckets.items()]


def per_region(emulators):
    return [
        flag
        for region in REGIONS
        for flag in ("--endpoint-url", f"{region}={emulators.endpoint(region)}")
    ]


def test_publish_and_drift_with_an_endpoint_per_region(capsys, emulators):
    assert (
        run_command(
            publish.main,
            [str(EXAMPLE_SITE), "--all", *bucket_flags(emulators), *per_region(emulators)],
        )
        == 0
    )
    out = capsys.readouterr().out
    site_files = [p for p in EXAMPLE_SITE.rglob("*") if p.is_file()]
    assert f"done: {2 * len(site_files)} uploaded, 0 failed" in out
    for region, bucket in emulators.buckets.items():
        keys = {
            o["Key"] for o in emulators.client(region).list_objects_v2(Bucket=bucket)["Contents"]
        }
        assert "about us.html" in keys and "assets/site.css" in keys
    assert run_command(drift.main, [*bucket_flags(emulators), *per_region(emulators)]) == 0
    assert "all buckets agree" in capsys.readouterr().out


@pytest.mark.parametrize("tool", ["publish", "drift"])
def test_one_endpoint_for_buckets_of_several_regions_is_a_one_line_error(capsys, emulators, tool):
    arguments = [*bucket_flags(emulators), "--endpoint-url", emulators.endpoint("us-east-1")]
    if tool == "publish":
        code = run_command(publish.main, [str(EXAMPLE_SITE), "--all", *arguments])
    else:
        code = run_command(drift.main, arguments)
    assert code == 2
    err = capsys.readouterr().err
    bucket = emulators.buckets["eu-central-1"]
    assert err.startswith(
        f"error: the S3 endpoint for {bucket} (eu-central-1) serves another Region"
    )
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--endpoint-url", "127.0.0.1:9000"],
            "expected URL or REGION=URL, the URL starting http:// or https://",
        ),
        (["--endpoint-url", "mars-1=http://127.0.0.1:1"], "'mars-1' is not an AWS Region code"),
        (
            ["--endpoint-url", "ap-south-1=http://127.0.0.1:1"],
            "the stack has no bucket in ap-south-1",
        ),
        (["--endpoint-url", "http://a:1", "--endpoint-url", "http://b:1"], "not two URLs"),
    ],
)
def test_endpoint_flags_are_checked(capsys, aws_credentials, flags, message):
    buckets = [f"--bucket={region}=geo-endpoints-{region}" for region in REGIONS]
    assert run_command(drift.main, [*buckets, *flags]) == 2
    assert message in capsys.readouterr().err
