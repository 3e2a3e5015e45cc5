"""The routing page, rendered by a real browser: the map, every Region and every arrow are drawn,
the map takes the window's width, and no label covers another.

The browser is Debian's Chromium (/usr/bin/chromium). Tests install nothing: `./dev setup
--browser` installs it, and so does .ci/run, which also sets GEO_PROXIMITY_REQUIRE_BROWSER so that
in CI a missing browser fails the map tests instead of skipping them."""

import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys

import pytest

from routing.catalogue import load_catalogue
from settings import stack_file
from settings.table import PROJECT_ROOT
from tools import plan, plan_map

REQUIRE_BROWSER = "GEO_PROXIMITY_REQUIRE_BROWSER"
NO_BROWSER = (
    "Chromium is not installed, so the map is not rendered: `./dev setup --browser` installs it "
    "(Debian's chromium package)"
)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: background connections only fill the log with refusals.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Measures what the browser laid out; appended to a copy of the page, never part of the product.
MEASURE = """<script>
const svg = document.getElementById('map');
const box = svg.getBoundingClientRect();
const land = document.querySelector('path.land').getBBox();
const regions = {};
for (const group of document.querySelectorAll('[data-region]')) {
  const dot = group.querySelector('circle').getBoundingClientRect();
  regions[group.dataset.region] = {
    x: dot.x + dot.width / 2 - box.x, y: dot.y + dot.height / 2 - box.y,
    width: dot.width, classes: group.getAttribute('class'),
    fill: getComputedStyle(group.querySelector('circle')).fill};
}
const arrows = [...document.querySelectorAll('#arrows path')].map(
  p => ({edge: p.dataset.edge, kind: p.getAttribute('class'), length: p.getTotalLength(),
         dash: getComputedStyle(p).strokeDasharray}));
// Every label's box and leader line as laid out, in the page's pixels relative to the map.
const labels = {};
for (const group of document.querySelectorAll('[data-region]')) {
  const text = group.querySelector('text').getBoundingClientRect();
  const leader = group.querySelector('line.leader');
  const ends = leader && [leader.x1, leader.y1, leader.x2, leader.y2].map(v => v.baseVal.value);
  labels[group.dataset.region] = {
    box: [text.left - box.x, text.top - box.y, text.right - box.x, text.bottom - box.y],
    leader: ends && ends.map(v => v * box.width / svg.viewBox.baseVal.width)};
}
const report = document.createElement('pre');
report.id = 'report';
report.textContent = JSON.stringify({svg: [box.width, box.height], land: [land.width, land.height],
  viewBox: [svg.viewBox.baseVal.width, svg.viewBox.baseVal.height], regions, arrows, labels,
  bodyWidth: document.body.clientWidth});
document.body.appendChild(report);
</script>"""


def chromium() -> str:
    """The browser the map tests render with: skipped with the reason when there is none, or
    failed where one is required (CI)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get(REQUIRE_BROWSER) or os.environ.get("CI"):
        pytest.fail(f"{NO_BROWSER}; it is required here ({REQUIRE_BROWSER} or CI is set)")
    pytest.skip(NO_BROWSER)


@pytest.fixture(scope="module")
def browser():
    return chromium()


def render(browser, tmp_path, page: str, window_width: int = 1280) -> dict:
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--window-size={window_width},2000",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            measured.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    match = re.search(r'<pre id="report">(.*?)</pre>', dom, re.S)
    assert match, "the page did not render (no report in the DOM)"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_the_map_draws_the_land_every_region_and_every_route(browser, tmp_path, monkeypatch):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    (tmp_path / "Pulumi.t.yaml").write_text(
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1, ap-northeast-1]\n"
        "  geo-proximity:routes:\n    ap-south-1: ap-northeast-1\n",
        encoding="utf-8",
    )
    settings = stack_file.settings_from_stack_file("t")
    document = plan.plan_document(settings, plan.plan_rows(settings))
    page = plan_map.render_page(document)
    assert (
        "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    )  # loads nothing
    report = render(browser, tmp_path, page)

    width, height = report["svg"]
    assert width > 600 and height > 200
    scale = width / report["viewBox"][0]
    # The land spans the whole map from west to east.
    assert report["land"][0] >= 0.97 * plan_map.WIDTH
    catalogue = load_catalogue()
    assert set(report["regions"]) == set(catalogue)
    for code, drawn in report["regions"].items():
        x, y = plan_map.project(catalogue[code].longitude, catalogue[code].latitude)
        assert abs(drawn["x"] - x * scale) < 2 and abs(drawn["y"] - y * scale) < 2, code
        assert drawn["width"] > 4, code
    assert "origin" in report["regions"]["eu-central-1"]["classes"]
    assert report["regions"]["eu-central-1"]["fill"] != report["regions"]["ca-central-1"]["fill"]
    assert "pinned" in report["regions"]["ap-south-1"]["classes"]
    assert "pinned" not in report["regions"]["ap-southeast-1"]["classes"]

    expected = {
        (edge, "primary") for edge, route in document["routes"].items() if route["primary"] != edge
    } | {
        (edge, "failover")
        for edge, route in document["routes"].items()
        if route["failover"] != edge
    }
    assert {(arrow["edge"], arrow["kind"]) for arrow in report["arrows"]} == expected
    for arrow in report["arrows"]:
        assert arrow["length"] > 5, arrow
        assert (arrow["dash"] != "none") == (arrow["kind"] == "failover"), arrow
    assert_labels_apart_and_joined(report)


def overlap(a, b) -> float:
    """The area two boxes (left, top, right, bottom) share."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def distance_to_box(x, y, box) -> float:
    return math.hypot(max(box[0] - x, 0, x - box[2]), max(box[1] - y, 0, y - box[3]))


def assert_labels_apart_and_joined(report):
    """As the browser laid them out: no label covers another label or a dot, every label is on the
    map, and each sits beside its dot or is joined to it by a leader line."""
    labels, regions = report["labels"], report["regions"]
    width, height = report["svg"]
    overlapping = [
        (a, b)
        for a, b in itertools.combinations(labels, 2)
        if overlap(labels[a]["box"], labels[b]["box"])
    ]
    assert overlapping == [], f"labels overlap: {overlapping}"
    for code, label in labels.items():
        box = label["box"]
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height, code
        assert box[2] - box[0] > 3 * len(code), code  # drawn, at a readable size
        for other, dot in regions.items():
            r = dot["width"] / 2
            dot_box = [dot["x"] - r, dot["y"] - r, dot["x"] + r, dot["y"] + r]
            assert not overlap(box, dot_box), f"the label {code} covers the dot of {other}"
        dot, r = regions[code], regions[code]["width"] / 2
        if label["leader"] is None:
            assert distance_to_box(dot["x"], dot["y"], box) < r + 6, code
        else:
            x1, y1, x2, y2 = label["leader"]
            assert abs(math.hypot(x1 - dot["x"], y1 - dot["y"]) - r) < 1.5, code
            assert distance_to_box(x2, y2, box) < 1.5, code


@pytest.mark.parametrize("window_width", [800, 1800])
def test_the_map_takes_the_windows_width_and_its_labels_stay_apart(browser, tmp_path, window_width):
    settings = stack_file.settings_from_stack_file("prod")
    page = plan_map.render_page(plan.plan_document(settings, plan.plan_rows(settings)))
    report = render(browser, tmp_path, page, window_width)
    width, height = report["svg"]
    assert abs(width - report["bodyWidth"]) < 1, (width, report["bodyWidth"])
    assert width > window_width - 60
    assert abs(height / width - plan_map.HEIGHT / plan_map.WIDTH) < 0.01
    assert_labels_apart_and_joined(report)


@pytest.mark.parametrize(
    "origins",
    [
        [],
        ["us-east-1", "eu-central-1", "ap-northeast-1"],
        [code for code in load_catalogue() if code.startswith(("eu-", "us-", "ap-northeast"))],
        list(load_catalogue()),
    ],
    ids=["no-origins", "prod", "clusters", "every-region"],
)
def test_labels_are_placed_apart_for_any_origins(origins):
    # The placement itself, without a browser: origins draw bigger dots, so each set differs.
    catalogue = load_catalogue()
    dots = {
        code: (
            *plan_map.project(region.longitude, region.latitude),
            plan_map.ORIGIN_RADIUS if code in origins else plan_map.REGION_RADIUS,
        )
        for code, region in catalogue.items()
    }
    labels = plan_map.place_labels(dots)
    assert set(labels) == set(catalogue)
    boxes = {code: label.box for code, label in labels.items()}
    assert [
        (a, b) for a, b in itertools.combinations(boxes, 2) if overlap(boxes[a], boxes[b])
    ] == []
    for x, y, r in dots.values():
        assert [
            other for other, box in boxes.items() if overlap(box, (x - r, y - r, x + r, y + r))
        ] == []
    for label in labels.values():
        left, top, right, bottom = label.box
        assert left >= 0 and top >= 0
        assert right <= plan_map.WIDTH and bottom <= plan_map.HEIGHT
        assert right - left == pytest.approx(len(label.code) * 0.6 * plan_map.LABEL_FONT_SIZE)
    # The clusters are why: in Europe, at least one label needs a leader line.
    assert any(labels[code].leader for code in catalogue if code.startswith("eu-"))


def test_without_a_browser_the_map_test_skips_and_says_why(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        chromium()
    assert str(skipped.value) == NO_BROWSER
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        chromium()
    assert "it is required here" in str(failed.value)


def test_plan_html_writes_the_page_and_names_its_data_source(capsys, tmp_path):
    target = tmp_path / "routing.html"
    assert plan.main(["--stack", "prod", "--html", str(target)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {target}")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Natural Earth" in page
    assert page.count('data-region="') == len(load_catalogue())


def test_plan_html_to_an_unwritable_place_is_one_line(capsys, tmp_path):
    assert (
        plan.run_command(
            plan.main, ["--stack", "prod", "--html", str(tmp_path / "no" / "such" / "x.html")]
        )
        == 2
    )
    assert capsys.readouterr().err.startswith("error: cannot write ")


FAKE_APT_GET = """#!/bin/sh
echo "$DEBIAN_FRONTEND apt-get $*" >> "{log}"
case "$1" in
    install) [ -n "{fails}" ] && {{ echo "E: Unable to locate package chromium"; exit 100; }}
             printf '#!/bin/sh\\n' > "{bin}/chromium"; "{chmod}" +x "{bin}/chromium" ;;
esac
"""


@pytest.mark.parametrize("fails", [False, True])
def test_dev_setup_browser_installs_chromium_with_apt_get(tmp_path, fails):
    # A PATH without Chromium, whose apt-get only records what it was asked: nothing is installed.
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "apt-get.log"
    for tool in ("bash", "cat", "cut", "dirname", "env", "id", "mktemp", "rm", "sha256sum", "sed"):
        found = shutil.which(tool)
        assert found, tool
        (fake / tool).symlink_to(found)
    script = FAKE_APT_GET.format(
        log=log, bin=fake, fails="yes" if fails else "", chmod=shutil.which("chmod")
    )
    (fake / "apt-get").write_text(script, encoding="utf-8")
    (fake / "apt-get").chmod(0o755)
    (fake / "sudo").write_text('#!/bin/sh\nexec "$@"\n', encoding="utf-8")
    (fake / "sudo").chmod(0o755)
    done = subprocess.run(
        ["./dev", "setup", "--browser"],
        cwd=PROJECT_ROOT,
        env={"PATH": str(fake), "PYTHON": sys.executable, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert log.read_text(encoding="utf-8").splitlines() == [
        " apt-get update -qq",
        "noninteractive apt-get install -y -qq chromium",
    ]
    assert done.stdout == ""
    if fails:
        assert done.returncode == 1
        assert "E: Unable to locate package chromium" in done.stderr
        assert done.stderr.endswith(
            "dev: installing Chromium failed; see apt-get's messages above\n"
        )
    else:
        assert done.returncode == 0, done.stderr
        assert done.stderr.endswith(f"dev: Chromium is installed: {fake / 'chromium'}\n")


def test_dev_setup_takes_only_the_browser_option():
    done = subprocess.run(
        ["./dev", "setup", "--chrome"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (
        2,
        "dev: setup takes only --browser, not '--chrome'\n",
    )
