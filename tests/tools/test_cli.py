"""What the commands share lives in tools.cli: every argparse type any command uses is defined
there, once."""

import argparse
from pathlib import Path

import pytest

import sandbox.__main__
from tools import drift, plan, publish

COMMANDS = {
    "./dev publish": (publish.main, ["site"]),
    "./dev drift": (drift.main, []),
    "./dev sandbox": (sandbox.__main__.main, ["drill"]),
    "./dev plan": (plan.main, []),
}


class ParserCapturedError(Exception):
    """Raised instead of parsing: the parser a command built, caught before it runs."""

    def __init__(self, parser):
        super().__init__(parser.prog)
        self.parser = parser


def parser_of(main, argv, monkeypatch):
    def capture(self, args=None, namespace=None):
        raise ParserCapturedError(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(ParserCapturedError) as parsed:
        main(argv)
    return parsed.value.parser


@pytest.mark.parametrize("command", COMMANDS)
def test_every_argument_type_is_one_of_tools_cli(command, monkeypatch):
    main, argv = COMMANDS[command]
    parser = parser_of(main, argv, monkeypatch)
    assert parser.prog == command
    types = {action.dest: action.type for action in parser._actions if action.type is not None}
    ours = {dest: kind for dest, kind in types.items() if kind not in (str, int, float, Path)}
    assert ours, "every command here has an argument type of its own"
    assert {dest: kind.__module__ for dest, kind in ours.items()} == dict.fromkeys(
        ours, "tools.cli"
    )


@pytest.mark.parametrize(
    ("command", "help_text"),
    [
        ("./dev publish", "requests in flight per bucket (default 16)"),
        ("./dev drift", "copies in flight per bucket while repairing (default 16)"),
    ],
)
def test_publish_and_drift_share_one_concurrency_argument(command, help_text, monkeypatch):
    main, argv = COMMANDS[command]
    parser = parser_of(main, argv, monkeypatch)
    (concurrency,) = [a for a in parser._actions if "--concurrency" in a.option_strings]
    assert (concurrency.default, concurrency.metavar, concurrency.help) == (16, "N", help_text)
    # Listed last in --help, as before it was shared.
    assert parser._actions[-1] is concurrency
