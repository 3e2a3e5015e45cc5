"""The routing page, rendered by a real browser: the map, every Region and every arrow are drawn."""

import json
import os
import re
import shutil
import subprocess

import pytest

from routing.catalogue import load_catalogue
from tools import plan, plan_map, stack_file

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
    "--window-size=1280,2000",
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
const report = document.createElement('pre');
report.id = 'report';
report.textContent = JSON.stringify({svg: [box.width, box.height], land: [land.width, land.height],
  viewBox: [svg.viewBox.baseVal.width, svg.viewBox.baseVal.height], regions, arrows});
document.body.appendChild(report);
</script>"""


def chromium() -> str:
    """Debian's Chromium, installed when missing (CI's machine starts without it)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"], check=False, capture_output=True
        )
        found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is needed for the map test and could not be installed with apt-get")
    pytest.skip(
        "Chromium is not installed and this user cannot install it (apt-get install chromium)"
    )


@pytest.fixture(scope="module")
def browser():
    return chromium()


def render(browser, tmp_path, page: str) -> dict:
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
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
