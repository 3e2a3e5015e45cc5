"""The shape of the code outside the tests: functions a reader can hold in mind."""

from __future__ import annotations

import ast
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A function or method longer than this is split along its seams.
MAX_FUNCTION_LINES = 100
# Not project code, or held to no such limit: the tests, and hidden folders (the virtual
# environments, .venv and .venv-deploy, and .git).
_SKIPPED = {"tests"}


def project_sources(root: Path = PROJECT_ROOT) -> list[Path]:
    """Every .py file under ``root`` outside the tests and hidden folders (not walked)."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        if Path(folder) == root:
            subfolders[:] = [
                name for name in subfolders if name not in _SKIPPED and not name.startswith(".")
            ]
        found.extend(Path(folder) / name for name in files if name.endswith(".py"))
    return sorted(found)


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of each function or method in ``source``
    longer than ``limit`` lines, counted from its ``def`` (decorators not included) to its last
    line, docstring and comments included."""
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    assert child.end_lineno is not None
                    length = child.end_lineno - child.lineno + 1
                    if length > limit:
                        found.append((name, child.lineno, length))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def test_no_function_outside_the_tests_is_longer_than_100_lines():
    sources = project_sources()
    # The walk finds the project: the program, the components, the sandbox and the tools.
    names = {path.relative_to(PROJECT_ROOT).as_posix() for path in sources}
    assert {
        "__main__.py",
        "settings/parser.py",
        "components/distribution.py",
        "sandbox/drill.py",
    } <= names
    assert not any(name.startswith(("tests/", ".venv/")) for name in names)
    too_long = [
        f"{path.relative_to(PROJECT_ROOT)}:{line} {name} is {length} lines"
        for path in sources
        for name, line, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert not too_long, (
        f"longer than {MAX_FUNCTION_LINES} lines; split along its seams:\n" + "\n".join(too_long)
    )


def _function(name: str, lines: int, indent: str = "") -> str:
    """Source of a function ``lines`` lines long, its ``def`` included."""
    body = "".join(f"{indent}    x = {n}\n" for n in range(lines - 1))
    return f"{indent}def {name}():\n{body}"


def test_the_check_counts_from_def_to_last_line_and_names_methods_and_nested_functions():
    assert long_functions(_function("exactly_100", 100)) == []
    assert long_functions(_function("one_more", 101)) == [("one_more", 1, 101)]
    method = "class Box:\n" + _function("method", 101, indent="    ")
    assert long_functions(method) == [("Box.method", 2, 101)]
    nested = "def outer():\n" + _function("inner", 101, indent="    ") + "    return inner\n"
    assert long_functions(nested) == [("outer", 1, 103), ("outer.inner", 2, 101)]
