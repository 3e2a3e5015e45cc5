"""The facts that decide between the ways: one table, which docs/engines.md's choosing section is
generated from, and facts about the pinned provider and the program that a test can check."""

import importlib.metadata
import inspect
import re

import pytest

from core.cloudfront import (
    DEFAULT_CONNECTION_ATTEMPTS,
    DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS,
    NO_RESPONSE_COMPLETION_TIMEOUT,
    S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS,
)
from core.evacuation import (
    DEFAULT_EVACUATION_FAILURES,
    EVACUATION_PROBE_SECONDS,
    EVACUATION_READ_TIMEOUT_SECONDS,
)
from settings.parser import parse_settings, project_values
from testing.mock_program import deploy
from tests.components.conftest import config_of
from tools import choosing
from tools.bill import Stack, Way, access_log_price
from tools.evacuator_usage import evacuator_usage, invocations_per_month, item_bytes
from tools.prices import load_price_book


def test_the_docs_choosing_section_is_generated_from_the_table():
    page = choosing.ENGINES_PAGE.read_text(encoding="utf-8")
    assert choosing.page_section(page) == choosing.choosing_section(), (
        "docs/engines.md's choosing section is stale: python -m tools.choosing --write"
    )


def test_the_section_check_finds_a_changed_fact_and_missing_markers():
    page = choosing.ENGINES_PAGE.read_text(encoding="utf-8")
    changed = page.replace("'can take up to 2 minutes'", "'can take up to 1 minute'")
    assert changed != page
    assert choosing.page_section(changed) != choosing.choosing_section()
    with pytest.raises(ValueError, match="expected one"):
        choosing.page_section(page.replace(choosing.SECTION_END, ""))


def test_every_fact_names_its_source_and_every_way_has_one():
    for aspect in choosing.aspects():
        assert set(aspect.facts) == set(Way)
        for fact in aspect.facts.values():
            assert fact.text and fact.source
            if not fact.documented:
                assert "not document" in fact.text or "not documented" in fact.text


def test_the_table_says_what_aws_does_not_document_about_the_access_point():
    facts = {aspect.question: aspect.facts for aspect in choosing.aspects()}
    failover = facts["When a bucket errors or stalls, per request"][Way.MRAP]
    assert not failover.documented and failover.text.startswith("not documented")
    assert (
        "'can take up to 2 minutes'"
        in facts["How a sick Region is taken out, and how fast"][Way.MRAP].text
    )


def test_the_pinned_provider_documents_sigv4_only_as_the_table_says():
    # The table (and docs/engines.md) say the pinned pulumi-aws documents `sigv4` as origin access
    # control's only signing protocol. When pulumi-aws is upgraded, this fails until they agree.
    from pulumi_aws.cloudfront import origin_access_control

    assert importlib.metadata.version("pulumi_aws").startswith("7.51.")
    source = inspect.getsource(origin_access_control)
    assert "The only valid value is `sigv4`." in source
    assert "sigv4a" not in source
    operated = next(a for a in choosing.aspects() if a.question == "What needs operating")
    assert "pulumi-aws 7.51 documents `sigv4`" in operated.facts[Way.MRAP].text


def test_the_evacuation_time_follows_the_evacuators_values():
    fastest, slowest = choosing.evacuation_seconds()
    # The failures in a row, a probe period apart, the last waiting out its connection and read
    # time-outs; a tick more for the stall's start (every vantage Region probes on the same
    # ticks). From core's values, whatever they are.
    last_probe = DEFAULT_CONNECTION_TIMEOUT_SECONDS + EVACUATION_READ_TIMEOUT_SECONDS
    assert fastest == (DEFAULT_EVACUATION_FAILURES - 1) * EVACUATION_PROBE_SECONDS + last_probe
    assert slowest == fastest + EVACUATION_PROBE_SECONDS
    taken_out = next(a for a in choosing.aspects() if a.question.startswith("How a sick Region"))
    for way in (Way.LAMBDA_EDGE, Way.CLOUDFRONT_FUNCTIONS):
        text = taken_out.facts[way].text
        assert f"{fastest}-{slowest} s after it stalls" in text
        # Scheduler's documented precision and Lambda's queue can start a run late, and the runs
        # overlap so that it does not matter; a break-glass write still reaches the edges the
        # slow way.
        assert "'60 second precision'" in text and "Lambda may hold an invocation" in text
        assert "runs overlap" in text
        assert "written in under a second, then" in text
        assert "by hand in under a second" not in text


def test_the_failover_fact_gives_the_worst_wait_of_a_stalled_bucket():
    failover = next(a for a in choosing.aspects() if a.question.startswith("When a bucket"))
    # No response completion timeout by default: a stalled bucket holds each request one response
    # timeout per attempt before failover.
    assert DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS == NO_RESPONSE_COMPLETION_TIMEOUT
    per_attempt = DEFAULT_CONNECTION_ATTEMPTS * S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS
    for way in (Way.LAMBDA_EDGE, Way.CLOUDFRONT_FUNCTIONS):
        text = failover.facts[way].text
        assert f"holds each request up to {DEFAULT_CONNECTION_ATTEMPTS} x " in text
        assert f"= {per_attempt} s first" in text
        # The completion timeout is offered with its price, never as a failover trigger.
        assert "originResponseCompletionTimeout, none by default" in text
        assert "AWS documents no failover after it" in text
        assert "fails over" not in text.split("originResponseCompletionTimeout")[1]


def test_no_flat_rate_fact_is_called_documented():
    # Every source on the plans is second-hand, and on Lambda@Edge two disagree.
    plans = next(a for a in choosing.aspects() if a.question.startswith("Which flat-rate plan"))
    assert not any(fact.documented for fact in plans.facts.values())
    edge = plans.facts[Way.LAMBDA_EDGE].text
    assert edge.startswith("none") and "added in March 2026" in edge and "taken as refused" in edge
    functions = plans.facts[Way.CLOUDFRONT_FUNCTIONS].text
    assert "as one public note says" in functions


def test_the_cost_table_says_the_order_with_and_without_the_undocumented_charge():
    table = choosing.cost_table()
    assert "| total without † |" in table
    assert "† Multi-Region Access Point internet acceleration, counted at the highest rate" in table
    order = table[table.index("In order, ") :]
    with_it, without = order.split("; without ")
    for sentence in (with_it, without):
        named = [float(n.replace(",", "")) for n in re.findall(r"\$([\d,]+\.\d\d)", sentence)]
        assert len(named) == 3 and named == sorted(named)


def test_the_access_log_format_priced_is_the_one_the_program_delivers():
    config, stack = config_of("functions-operated")
    settings = parse_settings(project_values(config), stack=stack)
    destination = deploy(config, stack=stack).one(
        "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
    )
    assert destination.inputs["outputFormat"] == settings.access_log_format
    assert Stack.of(settings).access_log_format == settings.access_log_format
    book = load_price_book()
    assert access_log_price("parquet", book).key == "accessLogParquetPerGb"
    # Delivery to S3 in another format is free ("There are no additional charges for log
    # delivery to Amazon S3").
    for free in ("w3c", "json", "plain"):
        assert access_log_price(free, book) is None


def test_the_evacuators_calls_are_counted_from_its_code():
    three = ("us-east-1", "eu-central-1", "ap-northeast-1")
    vantages = ("us-east-1", "eu-west-1", "ap-northeast-1")
    usage = evacuator_usage(
        origins=three, vantages=vantages, key_value_store=False, failures=3, recoveries=6
    )
    # A run has a round at every tick for two minutes (12) and starts a minute after the one
    # before, so half its ticks that one counted already. Each round probes every origin and
    # reads this vantage's view; each of the other six writes it, and reads the state and every
    # view; each run sends its metrics.
    assert (usage.probes, usage.writes, usage.metric_calls, usage.other_calls) == (36, 6, 1, 0)
    assert (usage.item_reads, usage.queries) == (12, 12)
    assert usage.write_units >= usage.writes and usage.log_bytes >= 0
    more = evacuator_usage(
        origins=(*three, "eu-west-1"),
        vantages=vantages,
        key_value_store=True,
        failures=3,
        recoveries=6,
    )
    assert more.probes == 48
    # With a key value store, each counted round also reads the committed version, the state and
    # what the store was last seen to hold (nothing changes in the steady state, so nothing is
    # committed or written to the store).
    assert more.queries == usage.queries + 6 and more.item_reads == usage.item_reads + 12
    assert more.other_calls == 0
    assert invocations_per_month("rate(1 minute)") == 43_200
    assert invocations_per_month("rate(2 minutes)") == 21_600
    with pytest.raises(ValueError):
        invocations_per_month("cron(0 * * * ? *)")


def test_item_sizes_follow_dynamodbs_rules():
    # "DynamoDB item sizes and formats": names and strings by their UTF-8 bytes, a number one byte
    # per two significant digits plus one, a map 3 bytes and 1 per element.
    assert item_bytes({"pk": {"S": "vantage"}}) == 2 + 7
    assert item_bytes({"n": {"N": "12345"}}) == 1 + 3 + 1
    assert item_bytes({"m": {"M": {"a": {"N": "1"}}}}) == 1 + 3 + (1 + 2 + 1)
