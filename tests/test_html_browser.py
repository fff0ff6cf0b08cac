"""The HTML report in a real headless browser (Debian's chromium through chromium-driver): it loads
without console errors or network requests, the filters change the visible count, the copy button
works, and screenshots are written to ``test-artifacts/``: ``report.png`` (the first screen:
summary, counts by rule, critical issues), ``report-full.png`` (the whole page) and
``report-filtered.png`` (the findings filtered to the index category).

``AUDIT_REQUIRE_BROWSER=1`` (set by scripts/test.sh) makes a missing browser a failure, not a skip.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.render.html import render_html
from auditor.rules import load_rules
from auditor.scan import run_scan

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "sample_projects" / "analytics_flask"
ARTIFACTS = REPO_ROOT / "test-artifacts"


def _browser_required() -> bool:
    return os.environ.get("AUDIT_REQUIRE_BROWSER", "").strip().lower() in ("1", "true", "yes")


def _missing(why: str):
    if _browser_required():
        pytest.fail(f"AUDIT_REQUIRE_BROWSER=1 but {why}", pytrace=False)
    pytest.skip(why)


def _expected_findings(project: Path) -> list:
    """``(rule, path)`` of every finding the sample project's expected_findings.txt lists."""
    found = []
    for line in (project / "expected_findings.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rule, where = line.split()
            found.append((rule, where.rsplit(":", 1)[0]))
    return found


@pytest.fixture(scope="module")
def driver():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[test]')")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                                    else None)
    if not browser or not chromedriver:
        _missing("chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1600", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    instance = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    yield instance
    instance.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The sample project's HTML report, written to a file: ``(path, ScanResult)``."""
    result = run_scan(SAMPLE, Config(), jobs=1)
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(result), encoding="utf-8")
    return path, result


def _severe_console_entries(driver) -> list:
    return [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def _visible(driver) -> tuple:
    """(the count text, the number of finding cards actually displayed)."""
    text = driver.find_element("id", "visible-count").text
    shown = driver.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('article.finding'),"
        " function (card) { return card.offsetParent !== null; }).length;")
    return text, shown


def _choose(driver, control: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", f"filter-{control}")).select_by_value(value)


def test_the_console_collector_sees_script_errors(driver, tmp_path):
    """The check below can fail: a page whose script throws shows up in the collected console log."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>",
                    encoding="utf-8")
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.as_uri())
    errors = _severe_console_entries(driver)
    assert len(errors) == 1 and "undefinedFunction" in errors[0]["message"]


def test_report_loads_filters_and_copies(driver, report):
    from selenium.webdriver.support.ui import WebDriverWait

    path, result = report
    html = path.read_text(encoding="utf-8")
    # self-contained: no external script, stylesheet, image or font
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html

    driver.get_log("browser")
    driver.get(path.as_uri())
    assert driver.title == "Performance audit: analytics_flask"
    assert _severe_console_entries(driver) == []
    assert driver.execute_script("return performance.getEntriesByType('resource').length;") == 0

    expected = _expected_findings(SAMPLE)
    total = len(expected)
    assert total == len(result.findings)
    assert _visible(driver) == (f"{total} of {total} findings", total)

    # screenshots of the unfiltered report: its first screen, and the whole page
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    assert driver.save_screenshot(str(shot))
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    driver.set_window_size(1280, min(height, 16000))
    assert driver.save_screenshot(str(ARTIFACTS / "report-full.png"))
    driver.set_window_size(1280, 1600)
    print(f"\nscreenshots of the HTML report: {shot}, report-full.png, report-filtered.png in {ARTIFACTS}")

    rules = load_rules()
    by_rule = Counter(rule for rule, _ in expected)
    by_category = Counter(rules[rule].category for rule, _ in expected)
    by_severity = Counter(f.severity for f in result.findings)

    _choose(driver, "rule", "DB101")
    assert _visible(driver) == (f"{by_rule['DB101']} of {total} findings", by_rule["DB101"])
    assert by_rule["DB101"] == 4
    _choose(driver, "rule", "")

    _choose(driver, "category", "connections")
    assert _visible(driver) == (f"{by_category['connections']} of {total} findings", by_category["connections"])
    assert by_category["connections"] == 5

    # category and path together: connection findings under scripts/
    path_box = driver.find_element("id", "filter-path")
    path_box.send_keys("scripts/")
    in_scripts = sum(1 for rule, where in expected
                     if rules[rule].category == "connections" and "scripts/" in where)
    assert in_scripts == 3
    assert _visible(driver) == (f"{in_scripts} of {total} findings", in_scripts)
    # a group heading with no visible finding is hidden too
    hidden_groups = driver.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('#findings .group'),"
        " function (g) { return g.offsetParent === null; }).length;")
    assert hidden_groups > 0
    driver.find_element("id", "filter-reset").click()
    assert _visible(driver) == (f"{total} of {total} findings", total)

    _choose(driver, "severity", "critical")
    assert _visible(driver) == (f"{by_severity['critical']} of {total} findings", by_severity["critical"])
    _choose(driver, "rule", "IDX101")  # no critical IDX101
    assert _visible(driver) == (f"0 of {total} findings", 0)
    assert driver.find_element("id", "no-match").is_displayed()
    driver.find_element("id", "filter-reset").click()

    _choose(driver, "category", "index")
    assert _visible(driver) == (f"{by_category['index']} of {total} findings", by_category["index"])
    driver.execute_script("document.getElementById('findings').scrollIntoView();")
    assert driver.save_screenshot(str(ARTIFACTS / "report-filtered.png"))

    # a bubble of the priority matrix lists its findings: severity and effort
    bubble = driver.find_element("css selector", "svg.matrix .bubble[data-severity='critical'][data-effort='medium']")
    in_cell = sum(1 for f in result.findings if (f.severity, f.effort) == ("critical", "medium"))
    assert in_cell > 0
    bubble.click()
    assert _visible(driver) == (f"{in_cell} of {total} findings", in_cell)
    assert driver.find_element("id", "filter-effort").get_attribute("value") == "medium"
    driver.find_element("id", "filter-reset").click()
    _choose(driver, "effort", "low")
    low_effort = sum(1 for f in result.findings if f.effort == "low")
    assert _visible(driver) == (f"{low_effort} of {total} findings", low_effort)
    driver.find_element("id", "filter-reset").click()

    # the copy button copies the DDL of an index finding
    button = driver.find_element("css selector", "article.finding[data-rule='IDX101'] button.copy")
    button.click()
    copied = button.get_attribute("data-copied")
    assert copied.startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS ")
    assert copied == button.find_element("xpath", "preceding-sibling::pre").text
    WebDriverWait(driver, 5).until(lambda _: button.text != "Copy DDL")
    assert button.text in ("Copied", "Select and copy")
    assert _severe_console_entries(driver) == []


def test_a_report_without_findings_loads_cleanly(driver, tmp_path):
    from auditor.scan import ScanResult

    page = tmp_path / "empty.html"
    page.write_text(render_html(ScanResult(root="empty", findings=[], notes=[("x.py", "skipped: binary file")],
                                           metrics={"files": 0})), encoding="utf-8")
    driver.get_log("browser")
    driver.get(page.as_uri())
    assert _severe_console_entries(driver) == []
    assert "No findings: nothing in the scanned code matched a rule." in driver.find_element("id", "findings").text
    assert driver.find_element("id", "notes").text.endswith("x.py: skipped: binary file")
