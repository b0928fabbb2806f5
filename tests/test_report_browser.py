"""The HTML report of a small real run, opened in headless Chromium.

Checks what a reader gets: the page loads with no console error, exception or
failed request; it fetches nothing but itself (every image is embedded); every
image decodes; the findings, the summary table (one row per initializer), the
figures and the settings are there; nothing is wider than the window.
Skipped when no Chromium is installed (CI installs Debian's ``chromium``).
"""

import re

import pytest

from tests.chromium import find_chromium, load

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs chromium on PATH (apt-get install chromium)"
)

INITS = ["zeros", "glorot_uniform", "he_normal"]

# Runs in the page after its load event; returns what the test checks.
PROBE = """(() => {
  const imgs = [...document.images];
  const rows = [...document.querySelectorAll('#summary table.summary tbody tr')];
  return {
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    widths: imgs.map(i => i.naturalWidth),
    findings: [...document.querySelectorAll('#findings li')].map(li => li.innerText),
    rows: rows.map(r => r.cells[0].innerText),
    figures: document.querySelectorAll('#figures figure img').length,
    settings: [...document.querySelectorAll('#provenance h3')].map(h => h.innerText),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    title: document.title,
  };
})()"""


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    import initlab

    folder = tmp_path_factory.mktemp("browser")
    out = initlab.train("xor", INITS, num_restarts=8, steps=50, progress=False)
    # XOR's chance level: 2 balanced classes (the run does not record it).
    initlab.write_report(out, folder / "report", n_resamples=200, title="xor check",
                         chance=0.5, vector=None)  # fmt: skip
    page = folder / "report" / "report.html"
    shot = folder / "top.png"
    got = load(page, PROBE, width=1200, height=900, screenshot=shot,
               executable=CHROMIUM)  # fmt: skip
    return page, shot, got


def test_the_page_loads_cleanly_and_offline(opened):
    page, _, got = opened
    assert got["problems"] == []  # console errors, exceptions, failed loads
    own = page.resolve().as_uri()
    fetched = [u for u in got["requests"] if not u.startswith("data:")]
    assert fetched == [own]  # the page itself; every image is embedded


def test_every_image_decodes_and_every_figure_is_shown(opened):
    page, _, got = opened
    v = got["value"]
    pngs = list((page.parent / "figures").glob("*.png"))
    assert v["images"] == v["figures"] == len(pngs) >= 6
    assert v["decoded"] == v["images"]
    assert all(w > 300 for w in v["widths"])


def test_findings_table_and_settings_are_there(opened):
    _, _, got = opened
    v = got["value"]
    assert v["title"] == "xor check"
    assert v["findings"][0].startswith("Best by IQM: ")
    assert any(f.startswith("Failed:") and "zeros" in f for f in v["findings"])
    assert sorted(v["rows"]) == sorted(INITS)
    assert v["rows"][-1] == "zeros"  # failed initializers last
    assert v["settings"][:3] == ["Reproduce", "Configuration", "Run"]
    assert v["overflow"] <= 0  # wide tables scroll inside their box


def test_the_screenshot_is_the_page_top(opened):
    _, shot, _ = opened
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = (int.from_bytes(data[k : k + 4], "big") for k in (16, 20))
    assert (width, height) == (1200, 900)


def test_the_html_refers_to_nothing_outside_itself(opened):
    page, _, _ = opened
    text = page.read_text()
    assert "<script" not in text and "<link" not in text and "@import" not in text
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text)
    assert refs and all(r.startswith(("data:", "#")) for r in refs)
    assert not re.search(r"url\(", text)
