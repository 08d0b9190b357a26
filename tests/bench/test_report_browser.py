"""The HTML report in a real headless browser: its tables render and its images load.

Skips when no Chromium is installed (Debian: ``apt-get install chromium``).
"""

import html
import json
import re
import shutil
import statistics
import subprocess

import pytest

from deepbalance.bench.report import write_report
from deepbalance.bench.runner import run_spec
from deepbalance.bench.store import Store

BROWSER = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)

# Appended to a copy of the report: once the page has loaded, write what the browser made of
# it (every image's natural size, every table cell's text) into the DOM that --dump-dom prints.
PROBE = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map((img) => ({
    src: img.getAttribute("src"), complete: img.complete, width: img.naturalWidth,
    height: img.naturalHeight,
  }));
  const tables = Array.from(document.querySelectorAll("table")).map((table) =>
    Array.from(table.rows).map((row) => Array.from(row.cells).map((cell) => cell.textContent)));
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({images, tables});
  document.body.appendChild(out);
});
</script>
"""


def _render(page, profile) -> dict:
    result = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",  # as root (containers, CI)
            "--disable-gpu",
            "--allow-file-access-from-files",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, f"the page did not finish loading: {result.stdout[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.skipif(BROWSER is None, reason="no headless browser (apt-get install chromium)")
def test_the_html_report_renders_tables_and_images(spec, toolkit, tmp_path):
    store = tmp_path / "results.sqlite"
    run_spec(spec, store=store, toolkit=toolkit, progress=False)
    out = tmp_path / "report"
    write_report(store, out, html_output=True)
    report = (out / "report.html").read_text(encoding="utf-8")
    page = out / "probe.html"  # beside the report, so the images resolve the same way
    page.write_text(report.replace("</body>", PROBE + "</body>"), encoding="utf-8")

    seen = _render(page, tmp_path / "browser-profile")

    n_img = report.count("<img ")
    assert n_img >= 3 and len(seen["images"]) == n_img
    for image in seen["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    # a cell of the results table, as the browser shows it, equals the stored runs' mean ± std
    with Store(store, read_only=True) as opened:
        values = [r.final["official"]["acsa"] for r in opened.runs() if r.method_id == "fake-smote"]
    expected = f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"
    rows = [row for table in seen["tables"] for row in table]
    header = next(row for row in rows if row[:2] == ["Method", "Seeds"])
    assert any(row[0] == "fake-smote" and row[header.index("ACSA")] == expected for row in rows), (
        expected
    )
    assert len(seen["tables"]) == report.count("<table>")
