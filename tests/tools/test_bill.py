"""The whole bill ./dev plan prints: a line for each thing the stack uses and none for what it does
not, every line a quantity times one price of the files (recomputed here by hand), the words of the
engine comparison made from its figures whatever the prices, and the flat-rate plans."""

import dataclasses
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.engine import Engine
from core.evacuation import (
    DEFAULT_EVACUATION_VANTAGES,
    EVACUATOR_MEMORY_MB,
    EVACUATOR_SCHEDULE,
    EVACUATOR_TIMEOUT_SECONDS,
)
from routing.catalogue import lambda_edge_execution_regions
from settings.stack_file import settings_from_stack_file
from tools import plan, plan_bill
from tools.bill import GB, Stack, Way, bill, bills, drivers
from tools.cli import run_command
from tools.cloudwatch_logs import LAMBDA_PLATFORM_LOG_BYTES
from tools.cost import Prices, estimate, routing_verdict
from tools.evacuator_usage import evacuator_usage
from tools.flat_rate import fits, load_plans
from tools.plan_bill import default_traffic
from tools.prices import PRICE_FILES, load_price_book

TOOLS = Path(plan.__file__).parent


def raw_prices():
    """Every price as the files write it, read with nothing but json: (usd, per) by key."""
    found = {}
    for path in PRICE_FILES:
        for key, entry in json.loads(path.read_text(encoding="utf-8"))["prices"].items():
            found[key] = entry["usd"] / entry.get("per", 1)
    return found


def a_stack(**changes):
    base = Stack(
        name="t",
        engine=Engine.LAMBDA_EDGE,
        origins=("us-east-1", "eu-central-1", "ap-northeast-1"),
        mesh=True,
        replication_time_control=False,
        monitoring=True,
        evacuation=True,
        vantages=DEFAULT_EVACUATION_VANTAGES,
        failures=3,
        recoveries=6,
        web_acl=None,
        access_logs=False,
        access_log_days=90,
        access_log_format="parquet",
        log_retention_days=30,
        noncurrent_version_days=30,
    )
    return dataclasses.replace(base, **changes)


def whats(way, stack, traffic=None):
    return {line.what for line in bill(way, stack, traffic or default_traffic(), BOOK).lines}


BOOK = load_price_book()
REPLICATION = {"replica PUTs, 2 per object published", "inter-Region transfer, 2 copies"}
EVACUATOR = {
    "function requests",
    "function duration",
    "schedule invocations",
    "probes (S3 GETs)",
    "state table writes, home replica (us-east-1)",
    "state table writes, replicated to the other Regions",
    "state table replication between Regions",
    "state table reads (strongly consistent)",
    "metric data (PutMetricData)",
    "function logs ingested",
    "function logs stored",
}
MONITORING = {"alarms", "dashboard", "metrics"}
ALWAYS = {
    "data transfer out, the first 10 TB a month",
    "HTTPS requests",
    "GET requests on cache misses",
    "storage, 3 bucket(s) x 100 GB",
    "noncurrent versions, 3 bucket(s), kept 30 days",
}
LAMBDA_EDGE = {
    "Lambda@Edge requests (cache misses)",
    "Lambda@Edge duration",
    "Lambda@Edge logs ingested",
    "Lambda@Edge logs stored",
}
FUNCTIONS = {"CloudFront Functions invocations (every request)"}
MRAP = {
    "Multi-Region Access Point data routing",
    "Multi-Region Access Point internet acceleration",
}
EDGE_STATE = {"DynamoDB reads by Lambda@Edge"}
KVS_STATE = {"key value store reads (one per request)"}
RTC = {"Replication Time Control transfer"}
RTC_METRICS = {"replication metrics (on with RTC)"}
WEB_ACL = {"web ACL", "rules"}
INSPECTED = {"requests inspected (every viewer request)"}
LOGS = {"parquet conversion", "log storage"}

# (way, the stack with the feature, the same stack without it, the lines the feature brings)
FEATURES = [
    (Way.LAMBDA_EDGE, {}, {"mesh": False}, REPLICATION),
    (Way.MRAP, {}, {"mesh": False}, REPLICATION),
    (Way.LAMBDA_EDGE, {"replication_time_control": True}, {}, RTC),
    (
        Way.LAMBDA_EDGE,
        {"replication_time_control": True, "monitoring": False},
        {"replication_time_control": True},
        RTC_METRICS,
    ),
    (Way.LAMBDA_EDGE, {}, {"monitoring": False}, MONITORING),
    (Way.MRAP, {}, {"monitoring": False}, MONITORING),
    (Way.LAMBDA_EDGE, {}, {"evacuation": False}, EVACUATOR),
    (Way.CLOUDFRONT_FUNCTIONS, {}, {"evacuation": False}, EVACUATOR),
    # One origin is never out of rotation: no state, no evacuator.
    (Way.LAMBDA_EDGE, {}, {"origins": ("us-east-1",)}, EDGE_STATE | EVACUATOR),
    (Way.CLOUDFRONT_FUNCTIONS, {}, {"origins": ("us-east-1",)}, KVS_STATE | EVACUATOR),
    (Way.LAMBDA_EDGE, {"web_acl": "managed"}, {}, WEB_ACL | INSPECTED),
    (Way.LAMBDA_EDGE, {"web_acl": "arn:aws:wafv2:us-east-1:1:global/webacl/a/b"}, {}, INSPECTED),
    (Way.CLOUDFRONT_FUNCTIONS, {"access_logs": True}, {}, LOGS),
    (Way.MRAP, {"access_logs": True}, {}, LOGS),
    # Only Parquet costs a conversion; the other formats are delivered to S3 for free.
    (
        Way.LAMBDA_EDGE,
        {"access_logs": True},
        {"access_logs": True, "access_log_format": "w3c"},
        {"parquet conversion"},
    ),
]


@pytest.mark.parametrize(("way", "on", "off", "lines"), FEATURES)
def test_a_line_appears_with_its_feature_and_goes_without_it(way, on, off, lines):
    assert lines <= whats(way, a_stack(**on))
    assert not lines & whats(way, a_stack(**off))


def test_the_routing_lines_follow_the_way_and_aws_routing_has_no_state_or_evacuator():
    stack = a_stack()
    assert whats(Way.LAMBDA_EDGE, stack) & (LAMBDA_EDGE | FUNCTIONS | MRAP) == LAMBDA_EDGE
    functions = whats(Way.CLOUDFRONT_FUNCTIONS, stack)
    assert functions & (LAMBDA_EDGE | FUNCTIONS | MRAP) == FUNCTIONS
    native = whats(Way.MRAP, stack)
    assert native & (LAMBDA_EDGE | FUNCTIONS | MRAP | EDGE_STATE | KVS_STATE | EVACUATOR) == MRAP


def test_every_line_of_a_stack_with_everything_on_belongs_to_a_feature_tested_above():
    # So that no line escapes the on/off test: each is always there or named by a feature.
    named = set().union(ALWAYS, LAMBDA_EDGE, FUNCTIONS, MRAP, *(lines for *_, lines in FEATURES))
    everything = a_stack(
        replication_time_control=True, web_acl="managed", access_logs=True, monitoring=False
    )
    for way in Way:
        assert whats(way, everything) <= named
        assert whats(way, dataclasses.replace(everything, monitoring=True)) <= named
    # A stack with nothing on still pays for delivery, its origins' GETs and storage.
    bare = a_stack(origins=("us-east-1",), mesh=False, monitoring=False, evacuation=False)
    assert whats(Way.LAMBDA_EDGE, bare) == {
        "data transfer out, the first 10 TB a month",
        "HTTPS requests",
        "GET requests on cache misses",
        "storage, 1 bucket(s) x 100 GB",
        "noncurrent versions, 1 bucket(s), kept 30 days",
        *LAMBDA_EDGE,
    }


def dollars_of(result, what):
    return next(line.dollars for line in result.lines if line.what == what)


def cents(value):
    return round(float(value) + 1e-9, 2)


def runs_per_month():
    """The evacuator's runs in a month, from core.evacuation's schedule, parsed here on its own:
    every vantage Region, every period of its rate() expression, over a 30-day month."""
    match = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", EVACUATOR_SCHEDULE)
    period = int(match[1]) * {"minute": 60, "hour": 3600, "day": 86400}[match[2]]
    return len(DEFAULT_EVACUATION_VANTAGES) * (30 * 24 * 3600 // period)


def test_lines_recomputed_by_hand_from_the_price_files():
    prices = raw_prices()
    prod = Stack.of(settings_from_stack_file("prod"))
    traffic = default_traffic()
    result = bill(Way.LAMBDA_EDGE, prod, traffic, BOOK)
    gb_served = 100_000_000 * 100 * 1024 / 1024**3  # 100 KB objects
    assert gb_served == 9536.7431640625
    assert (
        cents(dollars_of(result, "data transfer out, the first 10 TB a month"))
        == round(gb_served * prices["cloudFrontTransferFirst10Tb"], 2)
        == 810.62
    )
    assert (
        cents(dollars_of(result, "HTTPS requests"))
        == round(100_000_000 * prices["cloudFrontHttpsPer10kRequests"], 2)
        == 100.0
    )
    misses = 10_000_000  # 10% of 10^8
    assert (
        cents(dollars_of(result, "Lambda@Edge requests (cache misses)"))
        == round(misses * prices["lambdaEdgePerMillionRequests"], 2)
        == 6.0
    )
    assert float(result.total) == pytest.approx(sum(float(line.dollars) for line in result.lines))
    dev = Stack.of(settings_from_stack_file("dev"))
    functions = bill(Way.CLOUDFRONT_FUNCTIONS, dev, traffic, BOOK)
    assert (
        cents(dollars_of(functions, "key value store reads (one per request)"))
        == round(100_000_000 * prices["keyValueStorePerMillionReads"], 2)
        == 3.0
    )
    native = bill(Way.MRAP, prod, traffic, BOOK)
    assert (
        cents(dollars_of(native, "Multi-Region Access Point data routing"))
        == round(gb_served * 0.1 * prices["s3MultiRegionAccessPointRoutingPerGb"], 2)
        == 3.15
    )


def test_each_evacuator_run_is_billed_at_its_timeout_plus_the_init_phase():
    # Lambda bills a cold start's INIT phase since 2025-08-01, up to 10 s ("AWS Lambda
    # standardizes billing for INIT Phase"): the bill used to count the timeout alone (15.66 for
    # prod), less than a run can cost. Everything here follows core.evacuation.
    prices = raw_prices()
    prod = Stack.of(settings_from_stack_file("prod"))
    result = bill(Way.LAMBDA_EDGE, prod, default_traffic(), BOOK)
    expected = (
        runs_per_month()
        * (EVACUATOR_TIMEOUT_SECONDS + 10)
        * EVACUATOR_MEMORY_MB
        / 1024
        * prices["lambdaPerGbSecond"]
    )
    assert cents(dollars_of(result, "function duration")) == round(expected, 2)
    timeout_alone = expected * EVACUATOR_TIMEOUT_SECONDS / (EVACUATOR_TIMEOUT_SECONDS + 10)
    assert cents(dollars_of(result, "function duration")) > round(timeout_alone, 2)
    line = next(line for line in result.lines if line.what == "function duration")
    assert f"{EVACUATOR_TIMEOUT_SECONDS} s timeout and the 10 s" in line.note
    assert line.quantity == Decimal(runs_per_month() * (EVACUATOR_TIMEOUT_SECONDS + 10)) * (
        Decimal(EVACUATOR_MEMORY_MB) / 1024
    )


def test_replicated_writes_are_billed_in_every_replica_at_its_regions_price_with_their_transfer():
    # "one rWRU per replica table is charged for each write up to 1KB" and "Cross-Region data
    # transfer fees apply" ("Understanding Amazon DynamoDB billing for global tables"). The bill
    # used to price every replica at US East's and leave the transfer out.
    prices = raw_prices()
    stack = a_stack()
    result = bill(Way.LAMBDA_EDGE, stack, default_traffic(), BOOK)
    usage = evacuator_usage(
        origins=stack.origins,
        vantages=stack.vantages,
        key_value_store=False,
        failures=stack.failures,
        recoveries=stack.recoveries,
    )
    units = runs_per_month() * usage.write_units
    others = len(lambda_edge_execution_regions()) - 1  # us-east-1, home, is one of them
    home = dollars_of(result, "state table writes, home replica (us-east-1)")
    replicated = dollars_of(result, "state table writes, replicated to the other Regions")
    transfer = dollars_of(result, "state table replication between Regions")
    assert float(home) == pytest.approx(units * prices["dynamoDbPerMillionWriteUnits"])
    assert float(replicated) == pytest.approx(
        units * others * prices["dynamoDbPerMillionWriteUnitsDearestRegion"]
    )
    assert float(transfer) == pytest.approx(
        units * others * 1024 / GB * prices["dynamoDbReplicationTransferPerGb"]
    )
    # More than the old figure: every Region's write at US East's price, and no transfer.
    old = units * (others + 1) * prices["dynamoDbPerMillionWriteUnits"]
    assert float(home + replicated + transfer) > old
    assert (
        prices["dynamoDbPerMillionWriteUnitsDearestRegion"] > prices["dynamoDbPerMillionWriteUnits"]
    )
    # With CloudFront Functions the table is in the home Region and the vantage Regions only.
    functions = bill(Way.CLOUDFRONT_FUNCTIONS, stack, default_traffic(), BOOK)
    with_store = evacuator_usage(
        origins=stack.origins,
        vantages=stack.vantages,
        key_value_store=True,
        failures=stack.failures,
        recoveries=stack.recoveries,
    )
    replicated = next(
        line
        for line in functions.lines
        if line.what == "state table writes, replicated to the other Regions"
    )
    others = len({"us-east-1", *stack.vantages}) - 1
    assert replicated.quantity == runs_per_month() * with_store.write_units * others


def test_lambda_edges_state_reads_are_the_ceiling_unless_a_figure_is_given():
    # A container reads at most once per 15 s and only while serving a miss: one read per miss is
    # the most there can be. The bill used to divide by a per-instance ceiling and print "at
    # most" over what was the fewest instances there could be.
    prices = raw_prices()
    traffic = default_traffic()
    line = next(
        line
        for line in bill(Way.LAMBDA_EDGE, a_stack(), traffic, BOOK).lines
        if line.what == "DynamoDB reads by Lambda@Edge"
    )
    assert line.quantity == traffic.misses * Decimal("0.5")
    assert float(line.dollars) == pytest.approx(
        10_000_000 * 0.5 * prices["dynamoDbPerMillionReadUnitsDearestRegion"]
    )
    assert "at most one read per" not in line.note and "the most there can be" in line.note
    given = dataclasses.replace(traffic, lambda_edge_instances=13)
    line = next(
        line
        for line in bill(Way.LAMBDA_EDGE, a_stack(), given, BOOK).lines
        if line.what == "DynamoDB reads by Lambda@Edge"
    )
    assert line.quantity == Decimal(13 * 30 * 24 * 3600 // 15) * Decimal("0.5")
    assert line.note.startswith("your figure: 13 instance(s)")


def test_lambda_edge_logs_are_billed_per_invocation_from_lambdas_documented_lines():
    # Lambda writes START, END and REPORT on every invocation, in the Region the replica ran in.
    documented = [
        "START RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95 Version: $LATEST",
        "END RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95",
        "REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95  Duration: 15.74 ms  Billed "
        "Duration: 147 ms Memory Size: 128 MB Max Memory Used: 56 MB  Init Duration: 130.49 ms",
    ]
    per_invocation = sum(len(line) + 1 + 26 for line in documented)
    assert per_invocation == LAMBDA_PLATFORM_LOG_BYTES
    prices = raw_prices()
    stack = a_stack(log_retention_days=90)
    result = bill(Way.LAMBDA_EDGE, stack, default_traffic(), BOOK)
    gb = 10_000_000 * per_invocation / GB
    assert float(dollars_of(result, "Lambda@Edge logs ingested")) == pytest.approx(
        gb * prices["cloudWatchLogsIngestionPerGb"]
    )
    assert float(dollars_of(result, "Lambda@Edge logs stored")) == pytest.approx(
        gb * 90 / 30 * prices["cloudWatchLogsStoragePerGbMonth"]
    )
    assert not {"Lambda@Edge logs ingested"} & whats(Way.CLOUDFRONT_FUNCTIONS, stack)
    # The evacuator's: the same lines per run, and whatever its own code logs (counted by running
    # it, as its calls are).
    usage = evacuator_usage(
        origins=stack.origins,
        vantages=stack.vantages,
        key_value_store=False,
        failures=stack.failures,
        recoveries=stack.recoveries,
    )
    assert float(dollars_of(result, "function logs ingested")) == pytest.approx(
        runs_per_month()
        * (per_invocation + usage.log_bytes)
        / GB
        * prices["cloudWatchLogsIngestionPerGb"]
    )


def test_the_access_points_acceleration_is_counted_marked_and_the_total_without_it_given():
    # Whether CloudFront's fetches through an access point pay internet acceleration is not
    # documented: the bill counts it at the page's highest rate and says what the total is
    # without it. It used to leave it out as a fact ("no internet acceleration from CloudFront").
    prices = raw_prices()
    result = bill(Way.MRAP, a_stack(), default_traffic(), BOOK)
    line = next(line for line in result.lines if line.undocumented)
    assert line.what == "Multi-Region Access Point internet acceleration"
    assert float(line.dollars) == pytest.approx(
        9536.7431640625 * 0.1 * prices["s3MultiRegionAccessPointAccelerationPerGb"]
    )
    assert prices["s3MultiRegionAccessPointAccelerationPerGb"] == 0.06
    assert result.total_without_undocumented == result.total - line.dollars
    assert "outside of AWS" in line.undocumented
    for way in (Way.LAMBDA_EDGE, Way.CLOUDFRONT_FUNCTIONS):
        engine = bill(way, a_stack(), default_traffic(), BOOK)
        assert not engine.undocumented and engine.total_without_undocumented == engine.total


def test_the_order_of_the_ways_is_said_with_and_without_the_undocumented_charge():
    from tools.plan_bill import ordering

    for hit_ratio in (Decimal("0.5"), Decimal("0.9"), Decimal("0.99")):
        all_bills = bills(a_stack(), default_traffic(hit_ratio=hit_ratio), BOOK)
        sentences = ordering(all_bills)
        assert len(sentences) == 2
        for sentence, total in zip(
            sentences,
            (lambda b: b.total, lambda b: b.total_without_undocumented),
            strict=True,
        ):
            named = [
                Decimal(amount.replace(",", ""))
                for amount in re.findall(r"\$([\d,]+\.\d\d)", sentence)
            ]
            assert named == sorted(named)
            assert named == sorted(round(total(b), 2) for b in all_bills.values())


def test_the_bill_prints_what_it_does_not_count_and_why(capsys):
    assert plan.main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    listed = out[out.index("not counted, and why:") :]
    for expected in (
        "free tiers",
        "failover retries",
        "the longer Lambda@Edge invocations that read the routing state",
        "Lambda@Edge cold starts' INIT phase",
        "a scheduled run delivered twice",
    ):
        assert expected in listed
    assert plan.main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    listed = out[out.index("not counted, and why:") :]
    assert "the CloudFront function's log lines" in listed
    assert "Lambda@Edge cold starts" not in listed
    assert plan.main(["--stack", "prod", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)["bill"]
    assert any("INIT" in entry for entry in document["byWay"]["lambda-edge"]["notCounted"])


def test_prices_only_second_hand_sources_give_carry_the_mark():
    # The S3 figures come from a scrape of the pricing page and cost tables, the WAF figures from
    # two third parties, which disagree on how a managed rule group counts (AWS's own WAF cost guide
    # settles it: one rule).
    files = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in PRICE_FILES}
    for key in (
        "s3PutPerThousand",
        "s3ReplicationTimeControlPerGb",
        "s3BatchJob",
        "s3BatchPerMillionObjects",
        "s3GetPerThousand",
        "s3InterRegionTransferPerGb",
        "s3MultiRegionAccessPointRoutingPerGb",
    ):
        assert files["s3_prices.json"]["prices"][key].get("secondHand"), key
        assert BOOK[key].second_hand
    rule = files["waf_prices.json"]["prices"]["rulePerMonth"]
    assert "counts as a single rule for billing purposes" in rule["source"]
    assert "count as multiple rules" in rule["secondHand"]
    source = plan_bill._Sources()
    assert source.cite(BOOK["s3PutPerThousand"]).endswith("*")
    stack = a_stack(web_acl="managed", replication_time_control=True)
    rules = next(
        line
        for line in bill(Way.LAMBDA_EDGE, stack, default_traffic(), BOOK).lines
        if line.what == "rules"
    )
    assert "as AWS's WAF cost guide says (one third party says several)" in rules.note


def test_noncurrent_versions_and_the_https_line_say_what_they_count():
    prices = raw_prices()
    result = bill(Way.LAMBDA_EDGE, a_stack(noncurrent_version_days=60), default_traffic(), BOOK)
    assert float(dollars_of(result, "noncurrent versions, 3 bucket(s), kept 60 days")) == (
        pytest.approx(3 * 10 * 60 / 30 * prices["s3StandardStoragePerGbMonth"])
    )
    https = next(line for line in result.lines if line.what == "HTTPS requests")
    assert "United States" in https.note and "other geographies cost more" in https.note
    one_off = {line.what: line for line in result.one_off}
    manifests = one_off["Batch Replication manifests"]
    assert manifests.quantity == 3 * result.traffic.stored_objects
    assert manifests.price.key == "s3BatchManifestPerMillionObjects"


def test_data_transfer_is_billed_tier_by_tier():
    traffic = default_traffic(gb_served=Decimal(60_000))
    lines = [
        line
        for line in bill(Way.LAMBDA_EDGE, a_stack(), traffic, BOOK).lines
        if line.what.startswith("data transfer out")
    ]
    assert [(line.quantity, line.price.key) for line in lines] == [
        (10_240, "cloudFrontTransferFirst10Tb"),
        (40_960, "cloudFrontTransferNext40Tb"),
        (8_800, "cloudFrontTransferNext100Tb"),
    ]


def test_the_printed_bill_carries_prices_quantities_sources_and_how_old_the_prices_are(capsys):
    import datetime

    assert plan.main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    today = datetime.date.today()
    age = (today - datetime.date(2026, 11, 27)).days
    assert f"prices read 2026-11-27 to 2026-12-07, the oldest {age} day(s) ago" in out
    assert re.search(
        r"\n    data transfer out, the first 10 TB a month +9,536\.74  \$0\.085 per GB", out
    )
    assert re.search(
        r"\n  \[1\] cloudFrontTransferFirst10Tb \(tools/cloudfront_prices\.json\): "
        r"Amazon CloudFront pricing.*read 2026-12-07\n",
        out,
    )
    assert "  lambda-edge" in out and "<- this stack" in out
    assert "what changes the total most (each input 10% higher): requests a month +$" in out


def test_json_carries_the_same_bill(capsys):
    assert plan.main(["--stack", "dev", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)["bill"]
    assert document["way"] == "cloudfront-functions"
    assert (
        document["totalDollarsPerMonth"]
        == document["byWay"]["cloudfront-functions"]["totalDollarsPerMonth"]
    )
    reads = next(
        line for line in document["lines"] if line["what"].startswith("key value store reads")
    )
    assert reads == {
        "group": "routing state",
        "what": "key value store reads (one per request)",
        "quantity": 100_000_000,
        "unit": "reads",
        "unitPrice": {"usd": 0.03, "per": 1_000_000},
        "price": "keyValueStorePerMillionReads",
        "dollarsPerMonth": 3.0,
        "note": "",
        "coveredByFlatRatePlans": None,
        "undocumented": None,
    }
    assert document["prices"]["keyValueStorePerMillionReads"]["secondHand"]
    assert set(document["byWay"]) == {way.value for way in Way}
    assert document["facts"][0]["question"] == "Which Regions can be origins"
    assert document["pricesOldest"] == "2026-11-27" and document["pricesAgeDays"] >= 0


def test_what_moves_the_total_most_is_measured_not_guessed():
    stack, traffic = a_stack(), default_traffic()
    found = {
        driver.what: driver.dollars for driver in drivers(Way.LAMBDA_EDGE, stack, traffic, BOOK)
    }
    base = bill(Way.LAMBDA_EDGE, stack, traffic, BOOK).total
    raised = dataclasses.replace(traffic, gb_served=traffic.gb_served * Decimal("1.1"))
    assert found["GB served"] == bill(Way.LAMBDA_EDGE, stack, raised, BOOK).total - base
    assert max(found, key=found.get) == "requests a month"


def test_a_way_that_cannot_serve_the_stack_says_why():
    new = a_stack(origins=("us-east-1", "ca-west-1"))
    assert bill(Way.LAMBDA_EDGE, new, default_traffic(), BOOK).obstacles == (
        "ca-west-1 launched after December 2022, where an origin access identity does not work",
    )
    opt_in = a_stack(origins=("us-east-1", "eu-south-1"))
    assert (
        "eu-south-1: opt-in Region(s)"
        in bill(Way.MRAP, opt_in, default_traffic(), BOOK).obstacles[0]
    )
    assert not bill(Way.CLOUDFRONT_FUNCTIONS, opt_in, default_traffic(), BOOK).obstacles


def test_flat_rate_plans_by_hand():
    plans = load_plans()
    stack = a_stack(engine=Engine.CLOUDFRONT_FUNCTIONS, web_acl="managed")
    traffic = default_traffic(50_000_000, Decimal("0.9"), gb_served=Decimal(1000))
    result = bill(Way.CLOUDFRONT_FUNCTIONS, stack, traffic, BOOK)
    by_name = {fit.plan.name: fit for fit in fits(result, plans)}
    assert not by_name["Free"].eligible  # the key value store needs Pro or above
    assert by_name["Pro"].eligible and by_name["Pro"].level is None  # 50M requests > 10M
    business = by_name["Business"]
    covered = {"delivery", "edge compute", "AWS WAF"}
    outside = sum(
        line.dollars
        for line in result.lines
        if line.covered is None or line.covered.value not in covered | {"S3 storage credit"}
    )
    # 300 GB stored against a 1,024 GB credit: no storage left to pay.
    assert business.outside_dollars == outside
    assert business.dollars == 200 + outside
    assert business.pay_as_you_go == result.total
    edge = bill(
        Way.LAMBDA_EDGE, dataclasses.replace(stack, engine=Engine.LAMBDA_EDGE), traffic, BOOK
    )
    assert not any(fit.eligible for fit in fits(edge, plans))
    without_acl = bill(Way.MRAP, a_stack(), traffic, BOOK)
    assert all(fit.eligible and fit.needs == ("a web ACL",) for fit in fits(without_acl, plans))


# --- the engine comparison's words follow its figures, whatever the prices --------------------

_ROW = re.compile(
    r"^  (lambda-edge|cloudfront-functions)\s+\S.*?\s([\d,]+\.\d\d)(  <- this stack)?$"
)


def read_comparison(text):
    """(dollars by engine, ratio printed, break-even sentence, verdict sentence)."""
    dollars = {}
    for line in text.splitlines():
        if match := _ROW.match(line):
            dollars[match[1]] = Decimal(match[2].replace(",", ""))
    ratio = Decimal(re.search(r"with ([\d.]+)% served", text)[1])
    crossing = next(line.strip() for line in text.splitlines() if "break-even:" in line)
    verdict = next(line.strip() for line in text.splitlines() if line.strip().startswith("here "))
    return dollars, ratio, crossing, verdict


def assert_words_follow_figures(text):
    dollars, ratio, crossing, verdict = read_comparison(text)
    edge, functions = dollars["lambda-edge"], dollars["cloudfront-functions"]
    if match := re.fullmatch(r"here (\S+) costs \$([\d,]+\.\d\d) a month less", verdict):
        cheaper, other = (edge, functions) if match[1] == "lambda-edge" else (functions, edge)
        assert cheaper < other and other - cheaper == Decimal(match[2].replace(",", ""))
    else:
        assert verdict == "here both cost the same to the cent" and edge == functions
    if crossing.startswith("break-even: none"):
        assert "lambda-edge costs no more at any cache hit ratio" in crossing
        assert edge <= functions
    else:
        point = Decimal(re.match(r"break-even: ([\d.]+)% cache hits", crossing)[1])
        assert "above that lambda-edge costs less, below it cloudfront-functions does" in crossing
        if ratio > point:
            assert edge <= functions
        elif ratio < point:
            assert functions <= edge


amounts = st.decimals(min_value=0, max_value=5, places=6)


@given(
    edge_request=amounts,
    edge_gb_second=st.decimals(min_value=0, max_value=Decimal("0.01"), places=8),
    function=amounts,
    requests=st.integers(min_value=1, max_value=10**15),
    ratio=st.decimals(min_value=0, max_value=1, places=4),
    milliseconds=st.integers(min_value=1, max_value=30_000),
)
def test_the_comparison_words_follow_the_figures_for_any_price_file(
    tmp_path_factory, edge_request, edge_gb_second, function, requests, ratio, milliseconds
):
    assume(edge_request or edge_gb_second or function)
    override = tmp_path_factory.mktemp("prices") / "prices.json"
    override.write_text(
        json.dumps(
            {
                "lambdaEdgePerMillionRequests": float(edge_request),
                "lambdaEdgePerGbSecond": float(edge_gb_second),
                "cloudFrontFunctionsPerMillionInvocations": float(function),
            }
        ),
        encoding="utf-8",
    )
    prices = Prices.of(load_price_book(override))
    cost = estimate(prices, requests, ratio, Decimal(milliseconds))
    assert_words_follow_figures(plan.render_cost(cost, prices, Engine.LAMBDA_EDGE))


def test_a_price_file_where_lambda_edge_is_cheaper_is_said_so(capsys, tmp_path):
    # Lambda@Edge cheaper per invocation than a CloudFront function: it costs less at any ratio.
    # The plan used to say "CloudFront Functions cost less at any cache hit ratio" under figures
    # that said the opposite.
    prices = tmp_path / "prices.json"
    prices.write_text(
        '{"lambdaEdgePerMillionRequests": 0.05, "cloudFrontFunctionsPerMillionInvocations": 0.1}',
        encoding="utf-8",
    )
    assert run_command(plan.main, ["--prices", str(prices), "--cache-hit-ratio", "0"]) == 0
    out = capsys.readouterr().out
    assert "CloudFront Functions cost less at any cache hit ratio" not in out
    assert_words_follow_figures(out[out.index("routing cost per month") :])
    assert "lambda-edge costs no more at any cache hit ratio" in out
    assert "here lambda-edge costs $" in out


def test_the_break_even_is_printed_on_the_right_side_of_the_ratio_given():
    prices = Prices.of(BOOK)
    # The break-even is 83.50...%: at 83.5% (just below it) the printed break-even must not
    # read as 83.5%, which would put the ratio given on neither side.
    cost = estimate(prices, 10**9, Decimal("0.835"))
    crossing, verdict = routing_verdict(cost).sentences
    assert cost.cache_hit_ratio < cost.break_even_hit_ratio
    point = Decimal(re.match(r"break-even: ([\d.]+)%", crossing)[1]) / 100
    assert point > Decimal("0.835")
    assert verdict.startswith("here cloudfront-functions costs")


def test_every_bill_total_is_the_sum_of_its_lines():
    for result in bills(
        a_stack(web_acl="managed", access_logs=True), default_traffic(), BOOK
    ).values():
        assert result.total == sum(line.dollars for line in result.lines)
        assert all(line.dollars >= 0 for line in result.lines)
        assert result.traffic.gb_served * GB == 100_000_000 * 100 * 1024


def test_a_ways_bill_does_not_depend_on_the_engine_the_stack_runs_today():
    # --compare prices each way for the same stack: the lambda-edge column of a stack that runs
    # cloudfront-functions is the lambda-edge stack's bill (the evacuator publishes to a key value
    # store only with CloudFront Functions, so it reads three items more per counted tick there:
    # the committed version, the state and what the store was last seen to hold).
    def lines(result):
        return [(line.what, line.quantity, line.price.key) for line in result.lines]

    traffic = default_traffic()
    for way in Way:
        on_edge = bill(way, a_stack(engine=Engine.LAMBDA_EDGE), traffic, BOOK)
        on_functions = bill(way, a_stack(engine=Engine.CLOUDFRONT_FUNCTIONS), traffic, BOOK)
        assert lines(on_edge) == lines(on_functions)
    reads = {
        way: next(
            line.quantity
            for line in bill(way, a_stack(), traffic, BOOK).lines
            if line.what == "state table reads (strongly consistent)"
        )
        for way in (Way.LAMBDA_EDGE, Way.CLOUDFRONT_FUNCTIONS)
    }
    usage = {
        way: evacuator_usage(
            origins=a_stack().origins,
            vantages=a_stack().vantages,
            key_value_store=way is Way.CLOUDFRONT_FUNCTIONS,
            failures=3,
            recoveries=6,
        )
        for way in reads
    }
    assert reads[Way.CLOUDFRONT_FUNCTIONS] > reads[Way.LAMBDA_EDGE]
    assert reads[Way.CLOUDFRONT_FUNCTIONS] - reads[Way.LAMBDA_EDGE] == runs_per_month() * (
        usage[Way.CLOUDFRONT_FUNCTIONS].read_units - usage[Way.LAMBDA_EDGE].read_units
    )


def test_plan_allowances_are_read_in_decimal_gb_the_smaller_reading():
    # No page read says whether the plans' "50 TB" is binary: the bill compares its own GB of
    # 2^30 bytes with 50 x 10^12 bytes, so "over the allowance" is never said too late. It used
    # to read 50 TB as 51,200 of its GB.
    plans = load_plans()
    pro = next(plan for plan in plans.plans if plan.name == "Pro")
    assert pro.levels[0].page_transfer_gb == 50_000
    assert pro.levels[0].transfer_gb == Decimal(50_000 * 10**9) / GB
    assert pro.s3_credit_gb == Decimal(50 * 10**9) / GB
    stack = a_stack(engine=Engine.CLOUDFRONT_FUNCTIONS, web_acl="managed")
    traffic = default_traffic(10_000_000, Decimal("0.9"), gb_served=Decimal(47_000))
    fit = {
        fit.plan.name: fit
        for fit in fits(bill(Way.CLOUDFRONT_FUNCTIONS, stack, traffic, BOOK), plans)
    }["Pro"]
    assert fit.level is None
    document = fit.document()
    assert document["allowance"] is None and document["needs"] == []


def test_the_plans_say_whose_they_are_and_what_the_sources_dispute():
    all_bills = bills(a_stack(), default_traffic(), BOOK)
    plans = load_plans()
    own = plan_bill.render_plans(all_bills[Way.LAMBDA_EDGE], plans)
    other = plan_bill.render_plans(all_bills[Way.CLOUDFRONT_FUNCTIONS], plans)
    assert own.startswith("flat-rate plans for this stack as configured (lambda-edge;")
    assert other.startswith("flat-rate plans if this stack were routed cloudfront-functions")
    assert "not eligible (Lambda@Edge (sources disagree; taken as refused)" in own
    assert "March 2026" in own and "March 2026" not in other
    fit = fits(all_bills[Way.LAMBDA_EDGE], plans)[0]
    assert "Lambda@Edge" in fit.document()["disputedRefusals"]
    over = default_traffic(10**10, Decimal("0.9"))
    text = plan_bill.render_plans(bills(a_stack(web_acl="managed"), over, BOOK)[Way.MRAP], plans)
    assert "another, overage at pay-as-you-go rates" in text
