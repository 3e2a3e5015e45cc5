"""The files generated from the settings table: the ``config`` section of ``Pulumi.yaml`` and the
table in docs/configuration.md. After changing a row of ``settings.table``, regenerate both:

    python -m settings.generator --write

A development tool: it edits ``Pulumi.yaml`` in place with ruamel.yaml (comments and order kept),
which the program itself never imports.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq

from settings.table import (
    CONFIGURATION_PAGE,
    PROJECT_FILE,
    PROJECT_ROOT,
    SETTINGS,
    TABLE_END,
    TABLE_START,
)


def project_file_config() -> dict[str, dict[str, Any]]:
    """The ``config`` section of ``Pulumi.yaml``: the keys it declares, in table order."""
    return {
        setting.key: declaration
        for setting in SETTINGS
        if (declaration := setting.project_file_declaration) is not None
    }


def configuration_table() -> str:
    """The Markdown table of every key, as docs/configuration.md shows it."""
    rows = [
        "| key | type | default | description |",
        "|---|---|---|---|",
        *(
            f"| `{setting.key}` | {setting.kind.label} | {setting.documented_default} | "
            f"{setting.description.replace('|', '&#124;')} |"
            for setting in SETTINGS
        ),
    ]
    return "\n".join(rows) + "\n"


def configuration_page_table(page: str) -> str:
    """The table between the markers of ``page``'s text; a ValueError when the markers are not
    there once each, in order."""
    before, start, rest = page.partition(TABLE_START + "\n")
    table, end, _ = rest.partition(TABLE_END)
    if not start or not end or TABLE_START in rest or TABLE_END in before:
        raise ValueError(f"expected one {TABLE_START} line and, after it, one {TABLE_END}")
    return table


def _rendered_page(page: str) -> str:
    table = configuration_page_table(page)
    return page.replace(
        f"{TABLE_START}\n{table}{TABLE_END}", f"{TABLE_START}\n{configuration_table()}{TABLE_END}"
    )


def _rendered_project_file(text: str) -> str:
    yaml = YAML()  # round trip: the file's comments and order stay
    yaml.width = 4096  # one line per description, as in the docs
    yaml.indent(mapping=2, sequence=4, offset=2)
    document = yaml.load(text)
    config = project_file_config()
    for declaration in config.values():
        if isinstance(declaration.get("default"), list):
            declaration["default"] = CommentedSeq(declaration["default"])
            declaration["default"].fa.set_flow_style()
    document["config"] = config
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def write_generated_files() -> list[Path]:
    """Rewrite the docs' table and Pulumi.yaml's config section from ``SETTINGS``; the changed
    files."""
    changed = []
    for path, render in (
        (CONFIGURATION_PAGE, _rendered_page),
        (PROJECT_FILE, _rendered_project_file),
    ):
        text = path.read_text(encoding="utf-8")
        if (rendered := render(text)) != text:
            path.write_text(rendered, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m settings.generator",
        description="Print the table of config keys, or write it where it is published.",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="rewrite docs/configuration.md's table and Pulumi.yaml's config section",
    )
    if not parser.parse_args(argv).write:
        print(configuration_table(), end="")
        return 0
    for path in write_generated_files():
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
