"""The docs stay honest: every `./dev` command and setting key a page names exists, every relative
link between pages resolves (anchors included), and the README stays an entry point.

Each check is a function over page texts that returns its problems, one line each, so every test
below also shows its check failing on a made-up bad page. That the configuration page lists every
key with its real default is checked beside the settings table, not here.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
import urllib.parse
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import pytest

from settings.table import KNOWN_KEYS

ROOT = Path(__file__).resolve().parent.parent
MAX_README_LINES = 200


def load_pages(root: Path) -> dict[str, str]:
    """The pages the checks read, by their path from the root: README, BENCHMARKS and docs/."""
    paths = [root / "README.md", root / "BENCHMARKS.md", *sorted((root / "docs").glob("*.md"))]
    return {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8") for path in paths}


# --- Markdown, as far as these checks need it ------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def _split_fences(markdown: str) -> tuple[list[str], list[str]]:
    """The lines inside fenced code blocks and the lines outside them."""
    code: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is not None:
            code.append(line)
        else:
            prose.append(line)
    return code, prose


def code_spans(markdown: str) -> list[str]:
    """Every inline code span outside the fenced blocks."""
    _, prose = _split_fences(markdown)
    return [span.group(2) for span in _CODE_SPAN.finditer("\n".join(prose))]


def code_texts(markdown: str) -> list[str]:
    """Every fenced block and every inline code span: where a page shows what to type."""
    code, _ = _split_fences(markdown)
    return ["\n".join(code), *code_spans(markdown)]


def prose_text(markdown: str) -> str:
    """The page without its code: where links are."""
    _, prose = _split_fences(markdown)
    return _CODE_SPAN.sub("", "\n".join(prose))


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to
    hyphens, repeats numbered."""
    _, prose = _split_fences(markdown)
    anchors: set[str] = set()
    for line in prose:
        heading = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        anchor, repeat = slug, 0
        while anchor in anchors:
            repeat += 1
            anchor = f"{slug}-{repeat}"
        anchors.add(anchor)
    return anchors


# --- (a) ./dev commands ------------------------------------------------------------------------


def dev_commands(script: str) -> set[str]:
    """The commands of the `dev` script: the arms of its `case "$command" in`."""
    lines = iter(script.splitlines())
    for line in lines:
        if line.strip() == 'case "$command" in':
            break
    else:
        raise AssertionError('the dev script has no `case "$command" in`')
    commands: set[str] = set()
    for line in lines:
        if line.strip() == "esac":
            break
        arm = re.match(r"^\s*([a-z][\w|-]*)\)", line)
        if arm:
            commands.update(
                name for name in arm.group(1).split("|") if re.fullmatch(r"[a-z][a-z-]*", name)
            )
    return commands


def named_dev_commands(markdown: str) -> set[str]:
    """The commands a page tells the reader to type as `./dev <command>`."""
    return {
        name
        for text in code_texts(markdown)
        for name in re.findall(r"\./dev\s+([a-z][\w-]*)", text)
    }


def check_dev_commands(pages: Mapping[str, str], commands: Collection[str]) -> list[str]:
    """A page naming a command the script lacks, and a command no page names."""
    problems = [
        f"{page}: `./dev {name}` is not a command of the dev script ({', '.join(sorted(commands))})"
        for page, text in pages.items()
        for name in sorted(named_dev_commands(text) - set(commands))
    ]
    named = set().union(*(named_dev_commands(text) for text in pages.values()))
    problems += [
        f"`./dev {name}` is in the dev script but no page names it"
        for name in sorted(set(commands) - named)
    ]
    return problems


# --- (b) setting keys --------------------------------------------------------------------------

# `geo-proximity:<key>` as `pulumi config` and stack files write it; not a type token
# (`geo-proximity:index:<Name>`), whose second colon is followed by more of the token.
_NAMESPACED_KEY = re.compile(r"geo-proximity:([A-Za-z][A-Za-z0-9]*)(?!\w|:\S)")
# A setting as a stack file writes it without its namespace, in a code span: `monitoring: false`.
_KEY_VALUE_SPAN = re.compile(r"([a-z][A-Za-z0-9]*): \S+$")
# A camelCase name alone in a code span, as the pages name settings: `logRetentionDays`.
_CAMEL_CASE_SPAN = re.compile(r"[a-z]+(?:[A-Z][a-z0-9]*)+")
# The camelCase names in code spans that are not settings: CloudFront's own fields and helpers.
# A page that names another one adds it here, so that a misspelt or removed key still shows.
NOT_SETTINGS = frozenset(
    {
        "createRequestOriginGroup",  # CloudFront Functions' origin modification helpers
        "selectRequestOriginById",
        "originIds",
        "failoverCriteria",  # the argument createRequestOriginGroup takes
        "domainName",  # the origin-request event's S3 origin field
        "responseCompletionTimeout",  # the origin field originResponseCompletionTimeout sets
        "notBreaching",  # a CloudWatch alarm's TreatMissingData value
    }
)


def named_setting_keys(
    markdown: str, not_settings: Collection[str] = NOT_SETTINGS
) -> Iterator[str]:
    """The setting keys a page names: namespaced anywhere; in a code span, `key: value` or a
    camelCase name alone (but for `not_settings`); and the first column of a table whose first
    header is `key`."""
    yield from _NAMESPACED_KEY.findall(markdown)
    for text in code_spans(markdown):
        span = _KEY_VALUE_SPAN.match(text)
        if span:
            yield span.group(1)
        elif _CAMEL_CASE_SPAN.fullmatch(text) and text not in not_settings:
            yield text
    in_key_table = False
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|"):
            in_key_table = False
        elif cells[0].lower() == "key":
            in_key_table = True
        elif in_key_table and not set(cells[0]) <= set("-: "):
            yield cells[0].strip("`").removeprefix("geo-proximity:")


def check_setting_keys(pages: Mapping[str, str], known: Collection[str]) -> list[str]:
    return [
        f"{page}: `{key}` is not a setting (settings.KNOWN_KEYS)"
        for page, text in pages.items()
        for key in sorted(set(named_setting_keys(text)) - set(known))
    ]


# --- (c) links ---------------------------------------------------------------------------------

_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def check_links(pages: Mapping[str, str], root: Path) -> list[str]:
    """Every relative link from a page resolves to a file of the repository, and an anchor into a
    page to one of its headings."""
    problems = []
    for page, text in pages.items():
        for target in _LINK.findall(prose_text(text)):
            if _SCHEME.match(target):
                continue
            path, _, anchor = urllib.parse.unquote(target).partition("#")
            linked = (
                posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
            )
            if linked.startswith("../") or not (root / linked).exists():
                problems.append(f"{page}: link to {target}: no such file")
                continue
            if anchor and linked.endswith(".md"):
                linked_text = pages.get(linked)
                if linked_text is None:
                    linked_text = (root / linked).read_text(encoding="utf-8")
                if anchor not in heading_anchors(linked_text):
                    problems.append(f"{page}: link to {target}: {linked} has no heading #{anchor}")
    return problems


# --- the checks on the real pages --------------------------------------------------------------


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return load_pages(ROOT)


@pytest.fixture(scope="module")
def commands() -> set[str]:
    return dev_commands((ROOT / "dev").read_text(encoding="utf-8"))


def test_every_page_is_linked_from_the_readme(pages):
    linked = {
        posixpath.normpath(target.partition("#")[0])
        for target in _LINK.findall(prose_text(pages["README.md"]))
    }
    assert sorted(set(pages) - linked - {"README.md"}) == []


def test_pages_name_only_dev_commands_that_exist_and_name_them_all(pages, commands):
    assert {"run", "test", "lint", "sandbox", "plan", "publish", "drift", "bench"} <= commands
    assert check_dev_commands(pages, commands) == []


def test_the_dev_command_check_fails_on_a_made_up_command_and_an_undocumented_one():
    script = (
        'case "$command" in\n    run)  x ;;\n    help|-h|--help) usage ;;\n    *) exit 2 ;;\nesac\n'
    )
    assert dev_commands(script) == {"run", "help"}
    page = "Try `./dev run --fast`, then:\n\n```sh\n./dev deploy --now\n```\n"
    assert check_dev_commands({"bad.md": page}, {"run", "help"}) == [
        "bad.md: `./dev deploy` is not a command of the dev script (help, run)",
        "`./dev help` is in the dev script but no page names it",
    ]


def test_pages_name_only_setting_keys_that_exist(pages):
    assert check_setting_keys(pages, KNOWN_KEYS) == []


def test_the_setting_key_check_fails_on_made_up_keys():
    page = (
        "pulumi config set --path 'geo-proximity:origin[0]' us-east-1\n"
        "Set `monitorring: false`, keep `geo-proximity:failover: off` and `logRetentionDay`.\n"
        "CloudFront's `selectRequestOriginById` is not a setting.\n"
        "Type tokens (`geo-proximity:index:RegionalOrigin`) and `aws:region` are not settings.\n\n"
        "| key | default |\n|---|---|\n| `engine` | `lambda-edge` |\n| `engineX` | none |\n"
    )
    assert check_setting_keys({"bad.md": page}, KNOWN_KEYS) == [
        "bad.md: `engineX` is not a setting (settings.KNOWN_KEYS)",
        "bad.md: `logRetentionDay` is not a setting (settings.KNOWN_KEYS)",
        "bad.md: `monitorring` is not a setting (settings.KNOWN_KEYS)",
        "bad.md: `origin` is not a setting (settings.KNOWN_KEYS)",
    ]


def test_links_between_pages_resolve(pages):
    assert check_links(pages, ROOT) == []


def test_the_link_check_fails_on_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "docs").mkdir()
    pages = {
        "README.md": (
            "[ops](docs/ops.md#drain-a-region) [gone](docs/gone.md) [web](https://example.com)\n"
            "`[not a link](nowhere.md)`\n"
        ),
        "docs/ops.md": "# Operations\n\n## Drain a Region\n\n[up](../README.md) [x](#nothing)\n",
    }
    for page, text in pages.items():
        (tmp_path / page).write_text(text, encoding="utf-8")
    assert check_links(pages, tmp_path) == [
        "README.md: link to docs/gone.md: no such file",
        "docs/ops.md: link to #nothing: docs/ops.md has no heading #nothing",
    ]
    assert heading_anchors("# A `code` title: (yes)\n## A code title yes\n") == {
        "a-code-title-yes",
        "a-code-title-yes-1",
    }


def readme_problems(readme: str, limit: int = MAX_README_LINES) -> list[str]:
    lines = len(readme.splitlines())
    return [f"README.md has {lines} lines; at most {limit}: move detail to docs/"] * (lines > limit)


def test_the_readme_is_an_entry_point(pages):
    assert readme_problems(pages["README.md"]) == []
    assert readme_problems("line\n" * 201) == [
        "README.md has 201 lines; at most 200: move detail to docs/"
    ]


_LAYOUT_ROW = re.compile(r"^\| `([^`]+)`", re.MULTILINE)


def layout_problems(page: str, root: Path) -> list[str]:
    """Every top-level folder of the repository (but hidden ones) is a row of the page's layout
    table exactly once, and every row names something that exists."""
    table = page.partition("## Layout in detail")[2].partition("\n#")[0]
    rows = [name.rstrip("/") for name in _LAYOUT_ROW.findall(table)]
    folders = sorted(
        path.name
        for path in root.iterdir()
        if path.is_dir() and not path.name.startswith((".", "__"))
    )
    problems = [f"{name}/ has no row in the layout table" for name in folders if name not in rows]
    problems += [f"{name}/ has {rows.count(name)} rows" for name in folders if rows.count(name) > 1]
    problems += [
        f"{name} is in the table but not in the repository"
        for name in rows
        if not (root / name).exists()
    ]
    return problems


def test_the_layout_table_lists_every_top_level_folder_once(pages):
    assert layout_problems(pages["docs/development.md"], ROOT) == []


def test_the_layout_check_finds_a_missing_a_doubled_and_a_stale_row(tmp_path):
    for name in ("core", "tools", "tests"):
        (tmp_path / name).mkdir()
    page = "## Layout in detail\n\n| path | what |\n|---|---|\n"
    page += "| `core/` | a |\n| `core/` | b |\n| `tools/` | c |\n| `content/` | d |\n"
    assert layout_problems(page, tmp_path) == [
        "tests/ has no row in the layout table",
        "core/ has 2 rows",
        "content is in the table but not in the repository",
    ]


# How process talks: an issue number, or the project's own planning documents. A user needs to hear
# what changed ("before the routing state existed"), not which ticket changed it. A public issue is
# cited by its repository and number (terraform-provider-aws#49650), which this does not match.
_PROCESS_TALK = re.compile(r"\bissues? #?[0-9]+\b|design card|seed post", re.IGNORECASE)


def process_talk(text: str) -> list[str]:
    return [match.group(0) for match in _PROCESS_TALK.finditer(text)]


def test_no_code_doc_or_message_speaks_of_issue_numbers_or_planning_documents():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    found = []
    for name in tracked:
        path = ROOT / name
        if name == "tests/test_docs.py" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{name}: {said!r}" for said in process_talk(text)]
    assert found == []


def test_the_process_talk_check_finds_each_kind():
    text = "Fixed in issue 17 (see Issue #18); the design card says so, as the seed post did."
    assert process_talk(text) == ["issue 17", "Issue #18", "design card", "seed post"]
    assert process_talk("an issue with 3 origins; terraform-provider-aws issues") == []
