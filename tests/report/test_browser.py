"""The HTML report in headless Chromium: images load, sorting and filtering work, no network.

Uses Debian's ``chromium`` (the Makefile's setup installs it when missing) through Playwright's
Python API, never a browser downloaded by Playwright.
"""

import json
import re
import shutil

import pytest
import torch
from playwright.sync_api import sync_playwright

from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
from ganlens.dissect.stages import DissectionOptions, run_units
from ganlens.report.publish import publish_dissection

PLANTED = ("sky", "cloud", "mountain", "water", "grass", "road", "roof", "door", "dome", "trunk")
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ACE = {
    "layer": "layer1", "concept": "door", "num_units": 14, "alpha": [0.0] * 14,
    "ranking": {"ace": [7, 6, 0], "iou": [7, 0, 6]},
    "curves": {"n": [1, 2, 3], "ablation": {"ace": [0.5, 0.6, 0.62], "iou": [0.5, 0.52, 0.55]},
               "insertion": {"ace": [0.2, 0.3, 0.31], "iou": [0.2, 0.21, 0.25]}},
}  # fmt: skip


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    (out / "ace" / "layer1").mkdir(parents=True)
    (out / "ace" / "layer1" / "door.json").write_text(json.dumps(ACE))
    generator = PlantedSceneGenerator(PLANTED, resolution=32, feature_size=8, num_noise=3)
    probe = torch.stack([torch.arange(32.0), torch.zeros(32)], dim=1)
    result = run_units(
        generator, ["layer1"], SceneLabelSegmenter(range(64), resolution=32), out, probe=probe,
        held_out=probe + torch.tensor([32.0, 0.0]), options=DissectionOptions(images_per_unit=3),
        model={"source": "planted"}, progress=False,
    )  # fmt: skip
    return out, publish_dissection(result, out).document


def test_pages_reference_no_network_resource(report):
    out, _ = report
    for name in ("dissect.html", "layers.html"):
        html = (out / name).read_text()
        references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']|url\(([^)]*)\)""", html)
        targets = [a or b for a, b in references]
        assert targets or name == "layers.html"
        assert not [t for t in targets if re.match(r"\s*(https?:)?//", t)], targets
        assert "@import" not in html and not re.search(r"https?://", html)


def test_report_renders_sorts_and_filters_in_headless_chromium(report, tmp_path):
    out, document = report
    units = document["layers"][0]["units"]
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(10_000)
            page.on("request", lambda request: requested.append(request.url))
            page.goto((out / "dissect.html").as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "section.layer img", "els => els.map(e => [e.complete, e.naturalWidth])"
            )
            assert len(images) == sum(1 for u in units if u["image"]) == len(units)
            assert all(complete and width > 0 for complete, width in images), images

            section = page.locator("section.layer").first
            order_js = "els => els.map(e => [Number(e.dataset.unit), Number(e.dataset.iou)])"
            before = section.locator(".unit").evaluate_all(order_js)
            assert [u for u, _ in before] == list(range(len(units)))
            section.locator('button[data-sort="iou"]').click()
            after = section.locator(".unit").evaluate_all(order_js)
            ious = [iou for _, iou in after]
            assert after != before and ious == sorted(ious, reverse=True)
            assert ious[0] == max(u["iou"] for u in units)
            assert "active" in (section.locator('button[data-sort="iou"]').get_attribute("class"))

            section.locator("select.concept-filter").select_option("door")
            visible = section.locator(".unit:visible").evaluate_all(
                "els => els.map(e => e.dataset.concept)"
            )
            doors = [u for u in units if u["concept"] == "door"]
            assert visible == ["door"] * len(doors) and doors
            assert (
                section.locator(".shown").inner_text()
                == f"{len(doors)} of {len(units)} units shown"
            )
            section.locator("select.concept-filter").select_option(index=0)
            section.locator("input.interpretable-only").check()
            shown = section.locator(".unit:visible").count()
            assert shown == sum(u["interpretable"] for u in units) < len(units)

            assert page.locator(".ace svg.line-chart").count() == 2  # ablation and insertion
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

            page.goto((out / "layers.html").as_uri(), wait_until="load")
            assert page.locator("svg.grouped-bar-chart rect").count() >= 3
            row = page.locator("table.layers tr").nth(1).inner_text().split()
            summary = document["layers"][0]["summary"]
            assert row[:3] == [
                "layer1",
                str(summary["num_units"]),
                str(summary["num_interpretable"]),
            ]
        finally:
            browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert requested and all(url.startswith("file://") for url in requested), requested


def test_ace_curve_file_opens_as_an_image_in_headless_chromium(tmp_path):
    from ganlens.ace.evaluation import CausalCurves
    from ganlens.ace.plot import save_curve_plot

    curves = CausalCurves([1, 2, 3], ACE["curves"]["ablation"], ACE["curves"]["insertion"])
    svg = save_curve_plot(curves, tmp_path / "door.svg", concept="door", title="layer1 / door")
    (tmp_path / "page.html").write_text('<!doctype html><img id="plot" src="door.svg">')
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            page = browser.new_page()
            page.goto((tmp_path / "page.html").as_uri(), wait_until="load")
            size = page.eval_on_selector("#plot", "e => [e.complete, e.naturalWidth]")
        finally:
            browser.close()
    width = int(svg.read_text().split('width="', 1)[1].split('"', 1)[0])
    assert size == [True, width] and width > 600  # a valid SVG image: two charts side by side
