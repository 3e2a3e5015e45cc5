"""Read ``Pulumi.<stack>.yaml`` and ``Pulumi.yaml`` the way the Pulumi CLI hands them to the
program.

The CLI parses these files with gopkg.in/yaml.v3, which follows YAML 1.2 for untyped values: only
``true``/``false`` are booleans, so an unquoted ``off`` or ``yes`` stays the string it looks like
(yaml.v3's package description: "Booleans in YAML 1.2 are true/false only"). PyYAML implements
YAML 1.1 and would turn ``failover: off`` into ``False``; ruamel.yaml's safe loader reads YAML 1.2.
The program then receives every scalar as its text and every list or map as JSON.

Only the local tools (plan, sandbox, the mocks runner) read stack files; the program itself gets its
configuration from the CLI through ``settings.parser.load_settings``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.input_file import (
    MAX_INPUT_BYTES,
    MAX_NESTING,
    InputFileError,
    read_input_text,
    size_text,
)
from settings.parser import Settings, settings_from_config
from settings.table import PROJECT, PROJECT_FILE, PROJECT_ROOT, cli_text, shown

_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+\Z")
# The longest stack name the Pulumi CLI accepts.
MAX_STACK_NAME_LENGTH = 100
# The most values a stack file or Pulumi.yaml may hold, every alias counted as the value it
# repeats: a real one holds under a hundred (this project's keys, a few tags and routes).
MAX_YAML_VALUES = 10_000


class StackFileError(ValueError):
    """A stack or project file that cannot be read; the message names the file, line and column."""


def stack_file_path(stack: str) -> Path:
    """Where the stack's settings live; a stack name is letters, digits, '-', '_' and '.'."""
    if len(stack) > MAX_STACK_NAME_LENGTH:
        raise StackFileError(
            f"{shown(stack[:20] + '...')} is {len(stack)} characters long; a stack name has at "
            f"most {MAX_STACK_NAME_LENGTH}"
        )
    if not _STACK_NAME.match(stack):
        raise StackFileError(
            f"{stack!r} is not a stack name: letters, digits, '-', '_' and '.' only"
        )
    return PROJECT_ROOT / f"Pulumi.{stack}.yaml"


def load_yaml(path: Path, *, what: str = "stack file") -> dict[str, Any]:
    """The YAML 1.2 mapping in ``path`` (a ``what``); a clear one-line StackFileError when it is not
    one, or when it is larger, deeper or (through its aliases) bigger than any ``what`` is."""
    try:
        text = read_input_text(path, what=what)
    except InputFileError as error:
        raise StackFileError(str(error)) from None
    try:
        check_yaml_bounds(path.name, text, what)
        document = YAML(typ="safe", pure=True).load(text)
    except DuplicateKeyError as error:
        raise StackFileError(_duplicate_key(path, text, error)) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        problem = error.problem or error.context or "not valid YAML"
        raise StackFileError(f"{where}: {problem} (not valid YAML)") from None
    except YAMLError as error:
        raise StackFileError(f"{path.name}: not valid YAML ({error})") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(
            f"{path.name}: the file holds a {_yaml_kind(document)}, not a mapping of keys"
        )
    return document


def _yaml_kind(value: object) -> str:
    """What a YAML document holds, in YAML's words (a list, not a Python list)."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


@dataclass
class _Open:
    """A list or map being read: its anchor, the counts when it opened, its deepest member."""

    anchor: str | None
    values_before: int
    characters_before: int
    height: int = 0


def check_yaml_bounds(name: str, text: str, what: str = "stack file") -> None:
    """Refuse, from the YAML's events and before anything is built from them, a document whose
    values nest more than ``MAX_NESTING`` deep, hold more than ``MAX_YAML_VALUES`` values or
    ``MAX_INPUT_BYTES`` of text once every alias is expanded (a "billion laughs": 1 KB that
    expands to gigabytes when the CLI's text of each value is written), or an alias inside the
    value its anchor names (a value that contains itself, which no JSON text can hold).

    The Pulumi CLI refuses these too (gopkg.in/yaml.v3, decode.go: "anchor '%s' value contains
    itself", "document contains excessive aliasing", "exceeded max depth of 10000"); its limits
    are looser than these, which are ten times any real stack file's."""
    opened: list[_Open] = []
    # Anchor -> (values, characters, height) of the value it names, aliases inside expanded.
    named: dict[str, tuple[int, int, int]] = {}
    values = characters = 0
    aliased = False
    for event in YAML(typ="safe", pure=True).parse(text):
        where = f"{name}:{event.start_mark.line + 1}:{event.start_mark.column + 1}"
        if isinstance(event, CollectionStartEvent):
            opened.append(_Open(event.anchor, values, characters))
            size, height = (1, 2), 0
        elif isinstance(event, CollectionEndEvent):
            done = opened.pop()
            height = done.height + 1
            if done.anchor is not None:
                named[done.anchor] = (
                    values - done.values_before,
                    characters - done.characters_before,
                    height,
                )
            size = (0, 0)
        elif isinstance(event, AliasEvent):
            if any(open_.anchor == event.anchor for open_ in opened):
                raise StackFileError(
                    f"{where}: the alias *{event.anchor} is inside the value &{event.anchor} "
                    "names, so that value would contain itself; write the value out instead"
                )
            aliased = True
            count, length, height = named.get(event.anchor, (1, 1, 0))
            size = (count, length)
        elif isinstance(event, ScalarEvent):
            size, height = (1, len(event.value) + 1), 0
            if event.anchor is not None:
                named[event.anchor] = (*size, 0)
        else:
            continue
        if opened and not isinstance(event, CollectionStartEvent):
            opened[-1].height = max(opened[-1].height, height)
        if len(opened) + (height if isinstance(event, AliasEvent) else 0) > MAX_NESTING:
            raise StackFileError(
                f"{where}: lists and maps nest more than {MAX_NESTING} levels deep, deeper than "
                f"any {what}: check that it is the right file"
            )
        values, characters = values + size[0], characters + size[1]
        if values > MAX_YAML_VALUES or characters > MAX_INPUT_BYTES:
            raise StackFileError(_too_big(where, what, aliased, values > MAX_YAML_VALUES))


def _too_big(where: str, what: str, aliased: bool, values: bool) -> str:
    """Which bound a document's values passed, and what to do."""
    limit = f"{MAX_YAML_VALUES:,} values" if values else f"{size_text(MAX_INPUT_BYTES)} of text"
    if aliased:
        return (
            f"{where}: with its aliases (*name) expanded, the file holds more than {limit}, the "
            f"most a {what} may; write the values out instead of repeating them through aliases"
        )
    return (
        f"{where}: the file holds more than {limit}, the most a {what} may: check that it is the "
        "right file"
    )


def _duplicate_key(path: Path, text: str, error: DuplicateKeyError) -> str:
    """Which key ``text`` sets twice, where, and to what; ruamel's own message shows a list or a
    map as empty and other values as Python reprs (None, True)."""
    yaml = YAML(typ="safe", pure=True)
    mark = error.problem_mark
    for first_key, first_value, key, value in _keys_set_twice(yaml.compose(text)):
        if mark is None or (key.start_mark.line, key.start_mark.column) == (mark.line, mark.column):
            first, second = first_key.start_mark.line + 1, key.start_mark.line + 1
            return (
                f"{path.name}:{second}:{key.start_mark.column + 1}: {key.value} is set twice, to "
                f"{_as_written(yaml, text, first_value)} on line {first} and to "
                f"{_as_written(yaml, text, value)} on line {second}; keep one"
            )
    return f"{path.name}: a key is set twice (not valid YAML)"


def _keys_set_twice(node: Node) -> Iterator[tuple[Node, Node, Node, Node]]:
    """Every (first key, its value, second key, its value) where a mapping in ``node`` sets a key
    again, outer mappings first."""
    if isinstance(node, MappingNode):
        seen: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value in seen:
                yield (*seen[key.value], key, value)
            elif isinstance(key, ScalarNode):
                seen[key.value] = (key, value)
        for _, value in node.value:
            yield from _keys_set_twice(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _keys_set_twice(item)


def _as_written(yaml: YAML, text: str, node: Node) -> str:
    """A value as a message shows it, else (when it is not valid itself) its text on one line."""
    try:
        return shown(yaml.constructor.construct_object(node, deep=True))
    except YAMLError:
        return " ".join(text[node.start_mark.index : node.end_mark.index].split())


def project_config_defaults() -> dict[str, Any]:
    """The defaults ``Pulumi.yaml`` declares for this project's keys."""
    config = load_yaml(PROJECT_FILE, what="project file").get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{PROJECT_FILE.name}: 'config' is not a mapping of keys")
    return {
        key: declaration["default"]
        for key, declaration in config.items()
        if isinstance(declaration, dict) and "default" in declaration
    }


@dataclass(frozen=True)
class StackConfig:
    """A stack file's config as the CLI hands it to the program: namespaced key -> text. The keys
    whose values are secrets (``secure:``, which only the Pulumi CLI can decrypt) are listed apart,
    without a value."""

    values: dict[str, str]
    secrets: frozenset[str] = frozenset()


def read_stack_file(path: Path) -> StackConfig:
    """Every config value of a stack file, namespaced (``aws:region``, ``geo-proximity:origins``),
    as the CLI hands them to the program: project defaults first, then the stack's own values.

    A key without a namespace is this project's, as the CLI reads it ("In cases where a simple
    name without a colon is used, Pulumi automatically uses the current project name from
    Pulumi.yaml as the namespace": Pulumi docs, "Configuration", Configuration Keys; the CLI's
    stack loader rewrites such keys, pulumi/pulumi sdk/go/common/workspace/loaders.go,
    stackConfigNamespacedWithProject), and so is the older ``<namespace>:config:<name>`` form
    (config.ParseKey)."""
    values = {
        f"{PROJECT}:{key}": cli_text(value) for key, value in project_config_defaults().items()
    }
    config = load_yaml(path).get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: 'config' is not a mapping of keys to values")
    written: dict[str, str] = {}
    secrets: set[str] = set()
    for key, value in config.items():
        namespaced = namespaced_key(str(key))
        if namespaced in written:
            # The CLI keeps one of the two, whichever its map yields last: refuse instead.
            raise StackFileError(
                f"{path.name}: {namespaced} is set twice, as {written[namespaced]} and as {key}; "
                "keep one"
            )
        written[namespaced] = str(key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets.add(namespaced)
            values.pop(namespaced, None)
            continue
        if value is None:
            raise StackFileError(f"{path.name}: {key} has no value; give it one or remove it")
        values[namespaced] = cli_text(value)
    return StackConfig(values, frozenset(secrets))


def namespaced_key(key: str) -> str:
    """``key`` as the CLI reads it from a stack file: ``origins`` and
    ``geo-proximity:config:origins`` are ``geo-proximity:origins``."""
    parts = key.split(":")
    if len(parts) == 1:
        return f"{PROJECT}:{key}"
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    return key


def read_stack_config(path: Path) -> dict[str, str]:
    """Every config value of a stack file, as ``read_stack_file`` reads them, for what needs them
    all (the program under mocks): a StackFileError names a secret, whose value only the CLI has."""
    config = read_stack_file(path)
    if config.secrets:
        first = sorted(config.secrets)[0]
        raise StackFileError(
            f"{path.name}: {first} is a secret, which only the Pulumi CLI can decrypt; run the "
            "program with pulumi preview, or give it a plain value (pulumi config set without "
            "--secret)"
        )
    return config.values


def settings_from_stack_file(stack: str) -> Settings:
    """The settings of ``Pulumi.<stack>.yaml``: same validation and messages as the program's,
    a key in a misspelt namespace and an unknown ``aws:region`` included; a secret is left out
    where no local tool needs it, and named with the way out where one does."""
    config = read_stack_file(stack_file_path(stack))
    return settings_from_config(config.values, stack=stack, secrets=config.secrets)


def shipped_stacks() -> list[str]:
    """The stacks whose files git tracks (a personal, untracked ``Pulumi.me.yaml`` is not one)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", "Pulumi.*.yaml"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        # Not a git checkout (an unpacked archive): every stack file there was shipped with it.
        listed = [path.name for path in PROJECT_ROOT.glob("Pulumi.*.yaml")]
    return sorted(name.removeprefix("Pulumi.").removesuffix(".yaml") for name in listed)
