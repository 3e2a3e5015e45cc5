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
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from settings.parser import Settings, parse_settings, project_values
from settings.table import PROJECT, PROJECT_FILE, PROJECT_ROOT, cli_text, shown

_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+\Z")
# The longest stack name the Pulumi CLI accepts.
MAX_STACK_NAME_LENGTH = 100


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


def load_yaml(path: Path) -> dict[str, Any]:
    """The YAML 1.2 mapping in ``path``; a clear one-line StackFileError when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackFileError(f"no stack file at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError(f"cannot read {path}: {error}") from None
    try:
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
            f"{path.name}: the file holds a {type(document).__name__}, not a mapping of keys"
        )
    return document


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
    config = load_yaml(PROJECT_FILE).get("config") or {}
    return {
        key: declaration["default"]
        for key, declaration in config.items()
        if isinstance(declaration, dict) and "default" in declaration
    }


def read_stack_config(path: Path) -> dict[str, str]:
    """Every config value of a stack file, namespaced (``aws:region``, ``geo-proximity:origins``),
    as the CLI hands them to the program: project defaults first, then the stack's own values."""
    values = {
        f"{PROJECT}:{key}": cli_text(value) for key, value in project_config_defaults().items()
    }
    config = load_yaml(path).get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: 'config' is not a mapping of keys to values")
    for namespaced, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise StackFileError(
                f"{path.name}: {namespaced} is a secret, which only the Pulumi CLI can decrypt"
            )
        if value is None:
            raise StackFileError(
                f"{path.name}: {namespaced} has no value; give it one or remove it"
            )
        values[str(namespaced)] = cli_text(value)
    return values


def settings_from_stack_file(stack: str) -> Settings:
    """The settings of ``Pulumi.<stack>.yaml``: same validation and messages as the program's,
    a key in a misspelt namespace and an unknown ``aws:region`` included."""
    path = stack_file_path(stack)
    return parse_settings(project_values(read_stack_config(path)), stack=stack)


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
