"""Every flag of every ./dev command, given values a person could type by mistake: each is refused
with one line naming the flag (or the file or name it was given), a non-zero status, and no
traceback. The flags are read from the commands' own parsers, so a new flag without bad values
here fails ``test_every_flag_of_every_command_has_bad_values``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from settings.table import PROJECT_ROOT
from tests.inputs.support import (
    CLOSED,
    COMMANDS,
    BadFiles,
    assert_one_line_refusal,
    options_of,
)

SITE = str(PROJECT_ROOT / "examples" / "site")
TABLE = ["--table", "routing", "--table-region", "us-east-1"]
DYNAMODB = ["--endpoint-url", f"dynamodb={CLOSED}"]

# What each command is given besides the flag under test: enough that the flag's value is the
# one thing wrong. Positionals first, by their name; None marks a flag given without a value.
BASES: dict[str, dict[str, str | None]] = {
    "run": {},
    "sandbox": {"mode": "drill"},
    "plan": {},
    "publish": {"folder": SITE, "--bucket": "us-east-1=geo-bucket", "--endpoint-url": CLOSED},
    "drift": {"--bucket": "us-east-1=geo-bucket", "--endpoint-url": CLOSED},
    "latency fetch": {"--all": None, "--endpoint-url": CLOSED},
    "latency show": {},
    "backfill": {"region": "eu-west-1", "--outputs": "OUTPUTS", "--endpoint-url": CLOSED},
    "cleanup": {"--stack": "prod", "--endpoint-url": CLOSED},
    "simulate": {},
    **{
        command: {
            **({"region": "us-east-1"} if command != "status" else {}),
            "--stack": "prod",
            "--table": "routing",
            "--table-region": "us-east-1",
            "--endpoint-url": f"dynamodb={CLOSED}",
            **({"--reason": "trying"} if command == "evacuate" else {}),
        }
        for command in ("evacuate", "restore", "status")
    },
}
# Flags that take the place of others in the base (argparse refuses both together).
REPLACES = {"--outputs": ("--bucket", "--table", "--table-region"), "--stack": ("--outputs",)}


@dataclass(frozen=True)
class Bad:
    """A bad value of a flag, and what the refusal's line must name (default: the flag)."""

    value: str | None
    mentions: str | None = None
    # Other base values this case needs changed ({flag: value}).
    also: dict[str, str | None] = field(default_factory=dict)


def values(*texts: str, mentions: str | None = None) -> list[Bad]:
    return [Bad(text, mentions) for text in texts]


def explicit(flag: str) -> list[Bad]:
    """A flag that takes no value, given one (``--json=yes``)."""
    return [Bad(f"{flag}=yes")]


STACK_NAMES = values(
    "../prod", "", "s" * 101, "pro d", "pro\x1bd", "no-such-stack", mentions="stack"
)
REGIONS = values("mars-1", "", "US-EAST-1", "us-east-1\x1b[2J", "us-east-1 ")
ANY_URL = values("ftp://example.com", "example.com", "")
S3_URLS = values("ftp://example.com", "example.com", "mars-1=http://x", "us-east-1=ftp://x")
SERVICE_URLS = values("http://example.com", "s3=http://example.com", "dynamodb=ftp://x", "sts")
# The last: a byte that is not UTF-8, as Python hands it over (a lone surrogate).
REASONS = values(
    "", " ", "\x1b[2J\x1b[H", "line one\nline two", "x" * 501, "\u202eevil", "S3 \udcff"
)
FILES = ("missing", "folder", "device", "fifo", "huge", "not-utf8", "deep", "empty", "not-json")


def files(*kinds: str, mentions: str | None = None) -> list[Bad]:
    return [Bad(f"FILE:{kind}", mentions) for kind in kinds]


# (command, flag) -> its bad values. Every flag of every command is here (checked below).
CASES: dict[tuple[str, str], list[Bad]] = {
    **{(command, "--stack"): STACK_NAMES for command in ("run", "sandbox", "plan")},
    **{
        (command, "--port"): values("-1", "65536", "x", "8.5", "") for command in ("run", "sandbox")
    },
    **{(command, "--edge-region"): REGIONS for command in ("run", "sandbox")},
    **{
        (command, "--assets"): files("missing", "device", "empty", mentions="VALUE")
        for command in ("run", "sandbox")
    },
    **{
        (command, flag): explicit(flag)
        for command in ("run", "sandbox")
        for flag in ("--failures-only", "--stall")
    },
    ("sandbox", "mode"): values("fly", "", "DRILL", mentions="mode"),
    ("sandbox", "--every-stack"): [*explicit("--every-stack"), Bad(None, also={"--stack": "prod"})],
    ("plan", "--json"): explicit("--json"),
    ("plan", "--html"): [
        Bad("FILE:folder", "FILE:folder"),
        Bad("DIR:missing/x.html", "DIR:missing"),
    ],
    ("plan", "--requests-per-month"): values("0", "-5", "1.5", "nan", "inf", "1e16", "x", ""),
    ("plan", "--cache-hit-ratio"): values("1.5", "-0.1", "nan", "inf", "x", "101%", "%", ""),
    ("plan", "--lambda-edge-ms"): values("0", "-1", "30001", "nan", "inf", "x", ""),
    ("plan", "--prices"): files(*FILES, mentions="--prices"),
    ("plan", "--compare"): explicit("--compare"),
    ("plan", "--average-object-kb"): values("0", "-1", "nan", "inf", "1e400", "x", ""),
    **{
        ("plan", flag): values("-1", "nan", "inf", "1e400", "x", "")
        for flag in ("--gb-per-month", "--stored-gb", "--published-gb-per-month")
    },
    ("plan", "--lambda-edge-instances"): values("0", "-1", "1.5", "nan", "inf", "x", ""),
    ("plan", "--log-bytes-per-request"): values("0", "-1", "1.5", "nan", "inf", "x", ""),
    ("publish", "folder"): files("missing", "device", "empty", mentions="VALUE"),
    **{
        (command, "--outputs"): files(*FILES, mentions="outputs")
        for command in ("publish", "drift", "backfill", "evacuate", "restore", "status")
    },
    **{
        (command, "--bucket"): values(
            "eu-west-1",
            "us-east-1=",
            "mars-1=b",
            "us-east-1=UPPER_case",
            "us-east-1=a..b",
            "=bucket",
            mentions="--bucket",
        )
        for command in ("publish", "drift")
    },
    **{(command, "--replication"): values("maybe", "") for command in ("publish", "drift")},
    **{(command, "--endpoint-url"): S3_URLS for command in ("publish", "drift")},
    **{
        (command, "--concurrency"): values("0", "-1", "x", "nan", "1.5", "")
        for command in ("publish", "drift")
    },
    ("publish", "--to"): REGIONS,
    ("publish", "--from-region"): REGIONS,
    ("publish", "--all"): explicit("--all"),
    ("publish", "--cache-control"): values(
        "", " ", "no-cache\r\nX-Evil: 1", "é", "x" * 1025, "\x1b[2J"
    ),
    ("publish", "--prefix"): values("\x1b[2J", "a\nb", "x" * 1025),
    ("publish", "--check-metadata"): explicit("--check-metadata"),
    ("publish", "--dry-run"): explicit("--dry-run"),
    ("publish", "--no-progress"): explicit("--no-progress"),
    ("drift", "--repair"): explicit("--repair"),
    ("drift", "--details"): values("-1", "x", "1.5", ""),
    ("latency fetch", "--stack"): STACK_NAMES,
    ("latency fetch", "--all"): explicit("--all"),
    ("latency fetch", "--output"): [
        Bad("FILE:folder", "FILE:folder"),
        Bad("DIR:missing/x.json", "DIR:missing"),
    ],
    ("latency fetch", "--days"): values("0", "31", "x", "nan", ""),
    ("latency fetch", "--region"): REGIONS,
    ("latency fetch", "--endpoint-url"): ANY_URL,
    ("latency show", "--stack"): STACK_NAMES,
    ("latency show", "--file"): files(*FILES, mentions="VALUE"),
    ("backfill", "region"): values("mars-1", "", mentions="REGION"),
    ("backfill", "--stack"): STACK_NAMES,
    ("backfill", "--source"): REGIONS,
    ("backfill", "--dry-run"): explicit("--dry-run"),
    ("backfill", "--no-wait"): explicit("--no-wait"),
    ("backfill", "--interval"): values("0", "3601", "x", "1.5", ""),
    ("backfill", "--endpoint-url"): ANY_URL,
    ("cleanup", "--stack"): values("../prod", "", "s" * 101, "pro d", "pro\x1bd", mentions="stack"),
    ("cleanup", "--yes"): explicit("--yes"),
    ("cleanup", "--wait"): [*explicit("--wait"), Bad(None, "--wait goes with --yes")],
    ("cleanup", "--wait-limit"): values("-1", "x", "1.5", ""),
    ("cleanup", "--endpoint-url"): ANY_URL,
    **{(command, "--stack"): STACK_NAMES for command in ("evacuate", "restore", "status")},
    **{
        (command, "--table"): values("", "x y", "t", "a" * 256)
        for command in ("evacuate", "restore", "status")
    },
    **{(command, "--table-region"): REGIONS for command in ("evacuate", "restore", "status")},
    **{
        (command, "--kvs-arn"): values("x", "arn:aws:cloudfront::123:key-value-store/x", "")
        for command in ("evacuate", "restore", "status")
    },
    **{(command, "--endpoint-url"): SERVICE_URLS for command in ("evacuate", "restore", "status")},
    **{
        (command, "region"): values("mars-1", "", mentions="region")
        for command in ("evacuate", "restore")
    },
    ("evacuate", "--reason"): REASONS,
    ("restore", "--reason"): REASONS[1:],
    ("restore", "--hand-back"): explicit("--hand-back"),
    **{
        ("simulate", flag): values("-1", "x", "8.5", "", "10000001")
        for flag in ("--incidents", "--schedules", "--hours", "--seed", "--jobs")
    },
    ("simulate", "--probe-loss"): values("-0.1", "1", "x", "", "nan"),
    ("simulate", "--kvs-propagation-seconds"): values("-1", "3601", "x", "", "inf"),
}


def test_every_flag_of_every_command_has_bad_values():
    flags = {(name, flag) for name, command in COMMANDS.items() for flag, _ in options_of(command)}
    assert flags - set(CASES) == set(), "flags without bad values"
    assert set(CASES) - flags == set(), "bad values of flags the commands do not have"


def cases() -> Iterator[tuple[str, str, Bad]]:
    for (command, flag), bads in CASES.items():
        for bad in bads:
            yield command, flag, bad


def case_id(case: tuple[str, str, Bad]) -> str:
    command, flag, bad = case
    return f"{command} {flag} {bad.value!r}"[:80]


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"buckets": {"us-east-1": "geo-bucket"}}), encoding="utf-8")
    return outputs


def resolved(text: str | None, bad_files: BadFiles, tmp_path: Path, outputs: Path) -> str | None:
    """A case's value with its placeholders filled: FILE:kind, DIR:path, OUTPUTS."""
    if text is None:
        return None
    if text.startswith("FILE:"):
        return str(bad_files[text.removeprefix("FILE:")])
    if text.startswith("DIR:"):
        return str(tmp_path / text.removeprefix("DIR:"))
    return str(outputs) if text == "OUTPUTS" else text


def argv_of(
    command: str, flag: str, bad: Bad, fill: Callable[[str | None], str | None]
) -> list[str]:
    """The command line of a case: the base, the flag under test in place of its base value (and
    of the flags it replaces), then the case's other changes."""
    given = {
        key: value
        for key, value in BASES[command].items()
        if key != flag and key not in REPLACES.get(flag, ())
    }
    given.update(bad.also)
    if not flag.startswith("-"):
        return [fill(bad.value) or "", *_options(given, fill)]
    positional = [fill(value) or "" for key, value in given.items() if not key.startswith("-")]
    if bad.value is not None and bad.value.startswith(f"{flag}="):
        tested = [bad.value]  # --json=yes
    elif bad.value is None:
        tested = [flag]
    else:
        tested = [flag, fill(bad.value) or ""]
    return [*positional, *_options(given, fill), *tested]


def _options(given: dict[str, str | None], fill: Callable[[str | None], str | None]) -> list[str]:
    argv: list[str] = []
    for key, value in given.items():
        if key.startswith("-"):
            argv += [key] if value is None else [key, fill(value) or ""]
    return argv


@pytest.mark.parametrize("case", list(cases()), ids=case_id)
def test_a_bad_value_is_refused_in_one_line(case, capsys, bad_files, tmp_path, outputs_file, aws):
    command, flag, bad = case

    def fill(text: str | None) -> str | None:
        return resolved(text, bad_files, tmp_path, outputs_file)

    argv = argv_of(command, flag, bad, fill)
    status = COMMANDS[command].run(argv)
    err = capsys.readouterr().err
    mention = bad.mentions or flag
    if mention == "VALUE":
        mention = fill(bad.value) or ""
    elif mention.startswith(("FILE:", "DIR:")):
        mention = fill(mention) or ""
    assert_one_line_refusal(status, err, mention)
