"""Fetch the measured latency that routing by latency reads, and show a snapshot.

    ./dev latency fetch (--stack NAME | --all) [--output FILE] [--days N] [--region R]
                        [--endpoint-url URL]
    ./dev latency show [--stack NAME | --file FILE]

``fetch`` asks the EC2 API's ``GetAwsNetworkPerformanceData``, with your AWS credentials, for the
p50 round trip from every Regional edge cache Region to every origin of the stack (``--all``: to
every Region of the catalogue) over the last ``--days`` whole UTC days, and writes the snapshot
``routingMetric: latency`` routes by (``routing/latency.py``): the stack's ``latencyFile``, else
``latency.json`` in the project directory.

What the API takes, from the EC2 API Reference ("GetAwsNetworkPerformanceData", "DataQuery",
"MetricPoint"): ``DataQuery.N`` with ``Id``, ``Source``, ``Destination``, ``Metric``
(``aggregate-latency``, the only one), ``Statistic`` (``p50``, "the only supported metric") and
``Period`` (``five-minutes`` to ``one-week``); ``StartTime``, ``EndTime``; ``MaxResults`` and
``NextToken`` for paging. The reference gives no limit on the queries of one request and no range
for ``MaxResults``, and says of ``MetricPoint`` "Currently only five_minutes is supported" while
``Period`` lists six values. So, conservatively: ``five-minutes``, the one period documented as
supported (and the guide's own example), at most ``QUERIES_PER_REQUEST`` queries a request, no
``MaxResults`` (AWS's own page size, every ``NextToken`` followed), and each pair's value is the
median of all its points. EC2 throttles each API on its own, per account and Region ("Request
throttling for the Amazon EC2 API": "you are throttled on the number of requests you make on a
per-API basis"; a throttled request fails with ``RequestLimitExceeded``); its advice is exponential
back-off with jitter, a maximum delay and a maximum number of retries, for throttling and server
errors only. The requests are sent one at a time, so the bucket rarely empties; when it does, or the
network drops a request, a request is tried ``MAX_ATTEMPTS`` times in all.
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
)
from botocore.exceptions import ConnectionError as SdkConnectionError

from routing.catalogue import load_catalogue
from routing.latency import (
    LatencyError,
    LatencySnapshot,
    RoutingMetric,
    edge_origin_pairs,
    render_snapshot,
    snapshot_of,
)
from settings.parser import Settings, latency_path, load_snapshot, settings_from_config
from settings.stack_file import read_stack_file, stack_file_path
from settings.table import PROJECT
from tools.aws_tools import endpoint_url, error_code
from tools.cli import NO_CREDENTIALS, ToolError, days_of_history, edge_region, run_command

API = "EC2 GetAwsNetworkPerformanceData (AWS Network Manager Infrastructure Performance)"
# Any Region answers for every pair: the guide queries us-east-1 to us-west-2 in ap-southeast-3.
DEFAULT_API_REGION = "us-east-1"
METRIC, STATISTIC = "aggregate-latency", "p50"
# The one period the reference documents as supported (MetricPoint: "Currently only five_minutes is
# supported"; the guide's CLI example asks for five-minutes too): 288 points a day per pair, whose
# median is the pair's value. The other five values of the model's Period are left alone.
PERIOD = "five-minutes"
POINTS_PER_DAY = 288
# A week covers weekdays and the weekend; the console queries at most 30 days at once.
DEFAULT_DAYS = 7
# The API reference documents no limit on DataQuery.N; ten keeps every request small.
QUERIES_PER_REQUEST = 10
# A request throttled or failed by the server is tried this many times in all, waiting 1, 2, 4 and
# 8 s between tries (MAX_BACKOFF_SECONDS at most).
MAX_ATTEMPTS = 5
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 8.0
THROTTLING_CODES = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})
# What EC2 answers when the credentials may not call the action: an IAM matter.
DENIED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied"})
# "AuthFailure: The provided credentials could not be validated" ("Error codes for the Amazon EC2
# API"): credentials that are not valid (expired, revoked, mistyped) and, by every report we found
# though no AWS page says so, a Region the account has not enabled (a request there cannot be
# authenticated: e.g. turbot/steampipe-plugin-aws#75, fog/fog-aws#585). Not a missing permission.
AUTH_FAILURE_CODE = "AuthFailure"
# "OptInRequired: You are not authorized to use the requested service. Ensure that you have
# subscribed to the service you are trying to use" (same page): a subscription to the service, not
# documented for a Region that is not enabled; said as AWS says it.
OPT_IN_CODE = "OptInRequired"
IAM_ACTION = "ec2:GetAwsNetworkPerformanceData"


@dataclass(frozen=True)
class Window:
    """Whole UTC days, ``start`` inclusive to ``end`` exclusive (midnights)."""

    start: datetime.datetime
    end: datetime.datetime

    @classmethod
    def ending(cls, now: datetime.datetime, days: int) -> Window:
        """The ``days`` whole UTC days before the day of ``now``."""
        midnight = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(midnight - datetime.timedelta(days=days), midnight)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> datetime.date:
        return (self.end - datetime.timedelta(days=1)).date()

    def describe(self) -> str:
        return f"{self.start.date().isoformat()} to {self.last_day.isoformat()} (UTC)"


@dataclass(frozen=True)
class Query:
    """One DataQuery: the round trip from an edge Region to an origin Region."""

    id: str
    source: str
    destination: str

    def as_parameter(self) -> dict[str, str]:
        return {
            "Id": self.id,
            "Source": self.source,
            "Destination": self.destination,
            "Metric": METRIC,
            "Statistic": STATISTIC,
            "Period": PERIOD,
        }


def query_pairs(origins: Sequence[str]) -> list[Query]:
    """A query from every Regional edge cache Region to every origin but itself, in catalogue and
    origin order; Ids unique across all of them, so any subset is one valid request."""
    return [
        Query(f"q{index}", edge, origin)
        for index, (edge, origin) in enumerate(edge_origin_pairs(origins))
    ]


class Progress:
    """A line on a terminal that counts the pairs as they arrive; nothing elsewhere."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream, self.total = stream, total
        self.shown = stream.isatty()

    def update(self, done: int, requests: int) -> None:
        if self.shown:
            self.stream.write(
                f"\rlatency: {done} of {self.total} pairs asked, {requests} request(s)"
            )
            self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Fetched:
    # Edge Region -> origin Region -> the median of the points AWS returned, in ms.
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    # (edge, origin) -> why the snapshot lacks it.
    missing: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: int = 0


class _RefusedError(Exception):
    """AWS refused a request's parameters (a 400 that is not about credentials or throttling)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")


class Fetcher:
    """Asks for a set of pairs, QUERIES_PER_REQUEST at a time, following every page."""

    def __init__(
        self,
        client: Any,
        window: Window,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] = lambda delay: random.uniform(delay / 2, delay),
        progress: Progress | None = None,
    ) -> None:
        self.client, self.window, self.sleep, self.progress = client, window, sleep, progress
        # "Equal jitter": half the back-off, and a random share of the other half.
        self.jitter = jitter
        self.fetched = Fetched()
        self.asked = 0

    def run(self, queries: Sequence[Query]) -> Fetched:
        for first in range(0, len(queries), QUERIES_PER_REQUEST):
            self._batch(queries[first : first + QUERIES_PER_REQUEST])
        if self.progress:
            self.progress.finish()
        for query in queries:
            pair = (query.source, query.destination)
            if query.destination not in self.fetched.latency.get(query.source, {}):
                self.fetched.missing.setdefault(pair, "no data points")
        return self.fetched

    def _batch(self, queries: Sequence[Query]) -> None:
        """Ask for ``queries``; where AWS refuses the request, ask for each half apart, down to the
        one query it refuses, which is reported."""
        try:
            points = self._pages(queries)
        except _RefusedError as refused:
            if len(queries) == 1:
                query = queries[0]
                self.fetched.missing[(query.source, query.destination)] = f"refused: {refused}"
                self._advance(1)
                return
            middle = len(queries) // 2
            self._batch(queries[:middle])
            self._batch(queries[middle:])
            return
        for query in queries:
            values = points.get(query.id, [])
            if values:
                row = self.fetched.latency.setdefault(query.source, {})
                row[query.destination] = statistics.median(values)
        self._advance(len(queries))

    def _advance(self, count: int) -> None:
        self.asked += count
        if self.progress:
            self.progress.update(self.asked, self.fetched.requests)

    def _pages(self, queries: Sequence[Query]) -> dict[str, list[float]]:
        """Every point's value by query Id, over all pages (a query's points may span pages)."""
        parameters: dict[str, Any] = {
            "DataQueries": [query.as_parameter() for query in queries],
            "StartTime": self.window.start,
            "EndTime": self.window.end,
        }
        points: dict[str, list[float]] = {}
        seen_tokens: set[str] = set()
        # A page holds at least one point, or AWS's paging is broken: bound the chain by the points.
        max_pages = len(queries) * self.window.days * POINTS_PER_DAY + 1
        for _ in range(max_pages):
            page = self._call(parameters)
            for response in page.get("DataResponses", []):
                values = points.setdefault(str(response.get("Id")), [])
                values.extend(
                    float(point["Value"])
                    for point in response.get("MetricPoints", [])
                    if point.get("Value") is not None
                )
            token = page.get("NextToken")
            if not token:
                return points
            if token in seen_tokens:
                raise ToolError(f"{API} returned the same NextToken twice; try again later")
            seen_tokens.add(token)
            parameters = {**parameters, "NextToken": token}
        raise ToolError(
            f"{API} returned more than {max_pages} pages for one request, more than its points; "
            "try again later"
        )

    def _call(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """One request, retried with exponential back-off and jitter while EC2 throttles it, fails
        or the network loses it."""
        delay = FIRST_BACKOFF_SECONDS
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.fetched.requests += 1
            try:
                with _explained():
                    answer: dict[str, Any] = self.client.get_aws_network_performance_data(
                        **parameters
                    )
                    return answer
            except ClientError as error:
                code = error_code(error)
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                retryable = code in THROTTLING_CODES or status >= 500
                if not retryable or attempt == MAX_ATTEMPTS:
                    region = str(getattr(self.client.meta, "region_name", "the Region asked"))
                    raise _explained_error(error, code, retryable, region) from None
            except (SdkConnectionError, HTTPClientError) as error:
                # A connection refused, timed out or dropped: tried again like a throttled one.
                if attempt == MAX_ATTEMPTS:
                    raise _network_error(error) from None
            self.sleep(self.jitter(delay))
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _explained_error(error: ClientError, code: str, retryable: bool, region: str) -> Exception:
    message = error.response.get("Error", {}).get("Message", "")
    if retryable:
        return ToolError(
            f"{API} still answered {code or 'a server error'} after {MAX_ATTEMPTS} tries with "
            "back-off; try again later"
        )
    if code == AUTH_FAILURE_CODE:
        return ToolError(
            f"AWS could not validate the credentials in {region} ({code}): the Region is not "
            "enabled for this account, or the credentials are expired or not valid; ask an "
            "enabled Region with --region (any Region answers for every pair), or renew them"
        )
    if code == OPT_IN_CODE:
        return ToolError(
            f"AWS refused {IAM_ACTION} in {region} ({code}): the account is not subscribed to "
            "the service there (EC2 API error codes); ask another Region with --region (any "
            "Region answers for every pair)"
        )
    if code in DENIED_CODES:
        return ToolError(
            f"AWS refused {IAM_ACTION} ({code}): the credentials need it (Infrastructure "
            'Performance User Guide, "Create an IAM policy")'
        )
    if code.startswith("InvalidParameter") or code == "ValidationError":
        return _RefusedError(code, message)
    return ToolError(f"{API} failed: {code} {message}".rstrip())


@contextmanager
def _explained() -> Iterator[None]:
    """The SDK's own errors a person can fix, as one line; a ClientError and a network failure
    pass through (the caller retries them)."""
    try:
        yield
    except (SdkConnectionError, HTTPClientError):
        raise
    except ParamValidationError:
        raise  # a request this tool built wrong: a bug, not an input to report
    except NoCredentialsError:
        raise ToolError(NO_CREDENTIALS) from None
    except BotoCoreError as error:
        raise ToolError(f"{API} failed: {error}") from None


def _network_error(error: BotoCoreError) -> ToolError:
    """The last network failure of a request, as one line."""
    if isinstance(error, EndpointConnectionError):
        where = f"cannot reach the EC2 API at {error.kwargs.get('endpoint_url')}"
    else:
        where = f"the EC2 API did not answer ({error})"
    return ToolError(f"{where} after {MAX_ATTEMPTS} tries with back-off; try again later")


def ec2_client(region: str, endpoint_url: str | None) -> Any:
    """An EC2 client whose own retries are off: ``Fetcher`` retries, bounded, and says so."""
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=60
    )
    return boto3.session.Session().client(
        "ec2", region_name=region, endpoint_url=endpoint_url, config=config
    )


def stack_settings(stack: str) -> Settings:
    """The stack's settings as read to fetch for it: every key checked, but the snapshot not read
    (it may not exist yet: fetching is how it comes to)."""
    config = read_stack_file(stack_file_path(stack))
    return settings_from_config(
        {**config.values, f"{PROJECT}:routingMetric": RoutingMetric.DISTANCE.value},
        stack=stack,
        secrets=config.secrets - {f"{PROJECT}:routingMetric"},
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _targets(options: argparse.Namespace) -> tuple[list[str], Path]:
    """The origins to ask for and the file to write."""
    if options.stack is None and not options.all:
        raise ToolError("give --stack NAME (its origins) or --all (every Region of the catalogue)")
    settings = stack_settings(options.stack) if options.stack is not None else None
    origins = list(load_catalogue()) if options.all else list(settings.origins if settings else [])
    default = settings.latency_file if settings else latency_path(None)
    output: Path = options.output or default
    # Checked before the minutes of fetching, not when the snapshot is written.
    if output.is_dir() or not output.parent.is_dir():
        why = "it is a folder" if output.is_dir() else f"no folder {output.parent}"
        raise ToolError(f"cannot write the snapshot to {output}: {why}")
    return origins, output


def fetch(options: argparse.Namespace) -> int:
    origins, output = _targets(options)
    queries = query_pairs(origins)
    window = Window.ending(_now(), options.days)
    client = ec2_client(options.region, endpoint_url(options.endpoint_url))
    progress = Progress(sys.stderr, len(queries))
    fetched = Fetcher(client, window, sleep=_sleep, progress=progress).run(queries)
    if not fetched.latency:
        raise ToolError(
            f"AWS returned no latency for any of the {len(queries)} pairs asked; nothing written"
        )
    source = (
        f"{API} in {options.region}: {METRIC} {STATISTIC}, median of the {PERIOD} points of "
        f"{window.describe()}"
    )
    snapshot = snapshot_of(fetched.latency, source=source, measured=window.last_day)
    _write(output, render_snapshot(snapshot))
    print(
        f"wrote {output}: {snapshot.pair_count} of {len(queries)} pairs, p50 round trips of "
        f"{window.describe()} ({fetched.requests} request(s) in {options.region})"
    )
    if fetched.missing:
        print(
            f"AWS returned no latency for {len(fetched.missing)} pair(s); routing ranks them by "
            "distance (Infrastructure Performance covers the Regions its guide lists under "
            '"Region availability"):'
        )
        for (edge, origin), why in sorted(fetched.missing.items()):
            print(f"  {edge} -> {origin}: {why}")
    return 0


def _write(path: Path, text: str) -> None:
    """Write ``text`` whole or not at all: a half-written snapshot would stop the next deploy."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ToolError(f"cannot write {path}: {error.strerror or error}") from None


def describe_snapshot(path: Path, snapshot: LatencySnapshot) -> str:
    """The snapshot for people: where it came from, and each edge's origins fastest first."""
    lines = [
        f"{path}: {snapshot.statistic} round trips in {snapshot.unit}, measured "
        f"{snapshot.measured.isoformat()}, {snapshot.pair_count} pairs",
        f"source: {snapshot.source}",
    ]
    for edge, row in snapshot.latency.items():
        fastest = sorted(row.items(), key=lambda item: (item[1], item[0]))
        lines.append(f"{edge}: " + ", ".join(f"{origin} {ms:.1f}" for origin, ms in fastest))
    return "\n".join(lines)


def show(options: argparse.Namespace) -> int:
    if options.file:
        path = options.file
    elif options.stack is not None:
        path = stack_settings(options.stack).latency_file
    else:
        path = latency_path(None)
    try:
        snapshot = load_snapshot(path)
    except LatencyError as error:
        hint = "" if path.exists() else "; run `./dev latency fetch` to write one"
        raise ToolError(f"{error}{hint}") from None
    print(describe_snapshot(path, snapshot))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="./dev latency", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{fetch,show}")
    fetching = commands.add_parser(
        "fetch",
        help="read the p50 latency from AWS into a snapshot file",
        description="Read, with your AWS credentials, the p50 round trip from every Regional edge "
        "cache Region to every origin, and write the snapshot routingMetric latency routes by.",
    )
    fetching.add_argument("--stack", help="read Pulumi.<stack>.yaml: its origins and latencyFile")
    fetching.add_argument(
        "--all", action="store_true", help="every Region of the catalogue, not only the origins"
    )
    fetching.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="where to write, from where you stand (default: the stack's latencyFile, which is "
        "relative to the project directory, where the program reads it at deploy time; else the "
        "project's latency.json)",
    )
    fetching.add_argument(
        "--days",
        type=days_of_history,
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"whole UTC days before today to take the median over, 1-30 (default {DEFAULT_DAYS})",
    )
    fetching.add_argument(
        "--region",
        type=edge_region,
        default=DEFAULT_API_REGION,
        help=f"the Region whose EC2 API to ask (default {DEFAULT_API_REGION})",
    )
    fetching.add_argument(
        "--endpoint-url", metavar="URL", help="an EC2 endpoint to use instead of AWS's"
    )
    showing = commands.add_parser("show", help="print a snapshot, fastest origins first")
    where = showing.add_mutually_exclusive_group()
    where.add_argument("--stack", help="the snapshot of Pulumi.<stack>.yaml's latencyFile")
    where.add_argument("--file", type=Path, metavar="FILE", help="a snapshot file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    return fetch(options) if options.command == "fetch" else show(options)


if __name__ == "__main__":
    sys.exit(run_command(main))
