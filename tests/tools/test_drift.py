import time

import pytest

from tools import drift, publish
from tools.cli import run_command as run_tool
from tools.folder import PART_BYTES


def run(capsys, *argv):
    code = run_tool(drift.main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: str) -> dict[str, list[str]]:
    """The summary table: Region → [bucket, objects, missing, differs]."""
    return {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines()
        if line[:1].isalpha() and line.split()[0].count("-") == 2
    }


def published(stack, site, capsys):
    assert (
        run_tool(
            publish.main,
            [str(site), "--outputs", str(stack.outputs), "--endpoint-url", stack.endpoint],
        )
        == 0
    )
    capsys.readouterr()


def test_buckets_that_agree(stack, site, capsys):
    published(stack, site, capsys)
    code, out, _ = run(capsys, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint)
    assert code == 0
    assert "all buckets agree" in out
    assert {region: row[1:] for region, row in rows(out).items()} == {
        region: ["4", "0", "0"] for region in stack.buckets
    }


def test_a_deleted_and_a_changed_object_are_reported_per_region_then_repaired(stack, site, capsys):
    published(stack, site, capsys)
    stack.client("eu-central-1").delete_object(
        Bucket=stack.buckets["eu-central-1"], Key="images/logo.png"
    )
    time.sleep(1.1)  # S3 timestamps have one-second resolution: the change must be the newest copy
    stack.client("ap-northeast-1").put_object(
        Bucket=stack.buckets["ap-northeast-1"], Key="app.js", Body=b"changed\n"
    )

    code, out, _ = run(capsys, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint)
    assert code == 1
    table = rows(out)
    assert table["us-east-1"][1:] == ["4", "0", "1"]
    assert table["eu-central-1"][1:] == ["3", "1", "1"]
    assert table["ap-northeast-1"][1:] == ["4", "0", "0"]
    assert "  eu-central-1    missing  images/logo.png" in out
    assert "  us-east-1       differs  app.js" in out

    code, out, _ = run(
        capsys, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--repair"
    )
    assert code == 0
    assert "repaired: 3 objects copied" in out and out.rstrip().endswith("all buckets agree")
    etags = {region: stack.keys(region) for region in stack.buckets}
    assert etags["us-east-1"] == etags["eu-central-1"] == etags["ap-northeast-1"]
    body = (
        stack.client("us-east-1")
        .get_object(Bucket=stack.buckets["us-east-1"], Key="app.js")["Body"]
        .read()
    )
    assert body == b"changed\n"


@pytest.mark.slow(reason="lists thousands of keys through the S3 emulator")
def test_thousands_of_keys_are_paged(stack, capsys):
    client = stack.client("us-east-1")
    for index in range(1_250):
        client.put_object(Bucket=stack.buckets["us-east-1"], Key=f"k/{index:05d}", Body=b"")
    code, out, _ = run(
        capsys, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--details", "3"
    )
    assert code == 1
    table = rows(out)
    assert table["us-east-1"][1:] == ["1250", "0", "0"]
    assert table["eu-central-1"][1:] == ["0", "1250", "0"]
    assert "... and 2497 more (--details N shows more)" in out


def test_a_missing_bucket_is_a_clear_error(stack, capsys):
    code, _, err = run(
        capsys,
        "--bucket",
        f"us-east-1={stack.buckets['us-east-1']}",
        "--bucket",
        "eu-west-1=geo-not-there",
        "--endpoint-url",
        stack.endpoint,
    )
    assert code == 2
    assert (
        err.strip() == "error: bucket geo-not-there (eu-west-1) does not exist; "
        "check the stack outputs or --bucket"
    )


def test_outputs_from_standard_input(stack, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stack.outputs.read_text()))
    code, out, _ = run(capsys, "--outputs", "-", "--endpoint-url", stack.endpoint)
    assert code == 0 and "all buckets agree" in out


def test_repair_copies_many_objects_concurrently_and_keeps_their_type(stack, site, capsys):
    for number in range(60):
        (site / "many" / f"{number:03}.css").parent.mkdir(exist_ok=True)
        (site / "many" / f"{number:03}.css").write_text(f"p{{order:{number}}}\n", encoding="utf-8")
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--to", "us-east-1")
    assert run_tool(publish.main, [str(a) for a in args]) == 0
    capsys.readouterr()
    code, out, _ = run(
        capsys, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--repair"
    )
    assert code == 0, out
    assert "repaired: 128 objects copied" in out  # 64 files into each of two buckets
    assert stack.head("ap-northeast-1", "many/007.css")["ContentType"] == "text/css"


def test_an_object_above_the_copy_limit_is_copied_in_parts_with_the_same_etag(
    stack, site, capsys, monkeypatch
):
    # S3's 5 GiB CopyObject limit, lowered so that a test-sized object takes the multipart path.
    monkeypatch.setattr(drift, "MAX_SINGLE_COPY_BYTES", PART_BYTES)
    (site / "big.bin").write_bytes(b"\x07" * (PART_BYTES * 2 + 10))
    args = (
        site,
        "--outputs",
        stack.outputs,
        "--endpoint-url",
        stack.endpoint,
        "--to",
        "eu-central-1",
    )
    assert run_tool(publish.main, [str(a) for a in args]) == 0
    capsys.readouterr()
    code, out, _ = run(
        capsys, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--repair"
    )
    assert code == 0, out
    etags = {region: stack.keys(region)["big.bin"] for region in stack.buckets}
    assert len(set(etags.values())) == 1 and etags["us-east-1"].endswith("-3")


def test_a_copy_that_fails_is_one_line_and_the_others_still_happen(
    stack, site, capsys, monkeypatch
):
    args = (site, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--to", "us-east-1")
    assert run_tool(publish.main, [str(a) for a in args]) == 0
    capsys.readouterr()
    denied = stack.buckets["eu-central-1"]

    def deny(params, **_):
        if params.get("Bucket") == denied and params.get("Key") == "app.js":
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "CopyObject")

    original = drift.StackBuckets.client

    def client(self, region):
        made = original(self, region)
        made.meta.events.register("provide-client-params.s3.CopyObject", deny)
        return made

    monkeypatch.setattr(drift.StackBuckets, "client", client)
    code, out, err = run(
        capsys, "--outputs", stack.outputs, "--endpoint-url", stack.endpoint, "--repair"
    )
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("failed: eu-central-1 app.js:")
    assert "repaired: 7 objects copied, 1 failed" in out


def test_the_comparison_settles_each_key_as_the_sorted_listings_arrive():
    from datetime import UTC, datetime

    from tools.stack_buckets import ObjectInfo

    old, new = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    consumed = []

    def listing(region, items):
        for key, info in items:
            consumed.append((region, key))
            yield key, info

    result = drift.compare(
        {
            "us-east-1": listing(
                "us-east-1", [("a", ObjectInfo(1, "x", old)), ("c", ObjectInfo(2, "y", new))]
            ),
            "eu-west-1": listing(
                "eu-west-1",
                [
                    ("a", ObjectInfo(1, "x", old)),
                    ("b", ObjectInfo(3, "z", old)),
                    ("c", ObjectInfo(2, "w", old)),
                ],
            ),
        }
    )
    assert result.missing == {"us-east-1": ["b"], "eu-west-1": []}
    assert result.differs == {"us-east-1": [], "eu-west-1": ["c"]}
    assert result.newest == {"b": "eu-west-1", "c": "us-east-1"}
    assert result.objects == {"us-east-1": 2, "eu-west-1": 3}
    # Both listings were read in step, not one after the other.
    assert consumed[:2] == [("us-east-1", "a"), ("eu-west-1", "a")]


def test_a_listing_out_of_order_is_refused():
    from datetime import UTC, datetime

    import pytest

    from tools.stack_buckets import ObjectInfo

    info = ObjectInfo(1, "x", datetime(2026, 1, 1, tzinfo=UTC))
    from tools.cli import ToolError

    with pytest.raises(ToolError, match="came out of key order at 'a'"):
        drift.compare({"us-east-1": iter([("b", info), ("a", info)])})
