"""What the sandbox prints: the drill with --failures-only."""

import contextlib

import pytest

from sandbox.drill import run_drill
from sandbox.stack import Sandbox
from settings import parse_settings


@pytest.fixture(scope="module")
def small():
    settings = parse_settings({"origins": '["us-east-1", "eu-west-1"]'}, stack="output")
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        yield sandbox


def test_failures_only_prints_the_phases_that_failed_and_the_summary(small, monkeypatch):
    @contextlib.contextmanager
    def ignores_the_drain(self, settings):
        yield  # the edge keeps routing as before: the drained Region still gets requests

    monkeypatch.setattr(Sandbox, "rerouted", ignores_the_drain)
    lines: list[str] = []
    assert run_drill(small, small.keys, out=lines.append, failures_only=True) == 1
    titles = [line for line in lines if "== phase" in line]
    # Only the drain phase failed: no other phase prints its title, nor anything else.
    assert len(titles) == 1 and "drained (geo-proximity:drained)" in titles[0], lines
    drained = titles[0].split(": ", 1)[1].split(" ", 1)[0]
    after_title = lines[lines.index(titles[0]) + 1]
    assert after_title.startswith("FAILED ") and after_title.endswith(f"reached {drained}")
    assert not any(line.startswith(("no request reached", "failover: ")) for line in lines)
    assert any(line.startswith("\nsummary: ") for line in lines)
    assert lines[-1] == "drill FAILED: 1 problem(s)"
