"""The gallery in a real headless Chromium (Debian's, driven by Playwright).

Skips, saying why, when Playwright or a Chromium binary is missing; `.ci/run`
installs both. Screenshots land in ``test-artifacts/`` (or
``$EVOFOOL_TEST_ARTIFACTS``) for a person to look at.
"""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from evofool.browse import create_app

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
CHROMIUM = os.environ.get("EVOFOOL_CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("EVOFOOL_TEST_ARTIFACTS",
                                Path(__file__).parents[1] / "test-artifacts"))

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium binary (apt-get install chromium, or set "
                             "EVOFOOL_CHROMIUM); .ci/run installs it")


@pytest.fixture
def server(tiny_cppn_run, thousand_class_run):
    """The real app under uvicorn on a free local port, in a background thread."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app_server = uvicorn.Server(uvicorn.Config(create_app([tiny_cppn_run.parent,
                                                           thousand_class_run]),
                                               host="127.0.0.1", port=port,
                                               log_level="warning"))
    thread = threading.Thread(target=app_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not app_server.started:
        assert time.monotonic() < deadline, "browser server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    app_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def wait_until(page, expression, timeout=10000):
    """Poll ``expression`` in the page until it is true. (Playwright's wait_for_function
    compiles its predicate inside the page, which the browser's Content-Security-Policy
    forbids, as it should; an evaluation from the test's side is not the page's script.)"""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def test_pages_run_under_their_content_security_policy(server, page):
    """The policy the server sends is in force (no inline script runs) and the pages
    still work under it: what a run directory holds cannot run as script."""
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    response = page.goto(server + "/runs/tiny-cppn")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    wait_until(page, "document.querySelectorAll('#gallery .card').length === 10")
    assert not [error for error in errors if "Content Security Policy" in error], errors
    # an inline script that reached the page (say, from a hostile file) does not run
    page.evaluate("(() => { const script = document.createElement('script');"
                  " script.textContent = 'window.ranInline = true';"
                  " document.body.append(script); })()")
    time.sleep(0.2)
    assert page.evaluate("window.ranInline === undefined")
    assert any("Content Security Policy" in error for error in errors)


def test_gallery_and_champion_in_chromium(server, page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(server + "/")
    page.click("text=tiny-cppn")
    page.wait_for_url("**/runs/tiny-cppn")
    wait_until(page,
        "document.querySelectorAll('#gallery .card img').length === 10 && "
        "[...document.querySelectorAll('#gallery .card img')]"
        ".every(img => img.complete && img.naturalWidth > 0)", timeout=30000)
    widths = page.eval_on_selector_all("#gallery .card img",
                                       "images => images.map(image => image.naturalWidth)")
    assert widths == [28] * 10
    assert page.inner_text("#count") == "10 of 10 classes"
    page.fill("#filter", "7")
    wait_until(page, "document.querySelectorAll('#gallery .card').length === 1")
    page.fill("#filter", "")
    page.select_option("#sort", "confidence")
    page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)

    page.click("#gallery .card[data-class='3']")
    page.wait_for_url("**/runs/tiny-cppn/classes/3")
    wait_until(page,
        "document.getElementById('champion-image').naturalWidth > 0 && "
        "document.querySelectorAll('#top-k tr').length === 5 && "
        "document.querySelectorAll('#lineage img').length > 0 && "
        "document.getElementById('history-plot').naturalWidth > 0 && "
        "[...document.querySelectorAll('#lineage img')].every(img => img.complete)",
        timeout=30000)
    assert page.inner_text("#champion-title") == "class 3: 3"
    page.screenshot(path=str(ARTIFACTS / "champion.png"), full_page=True)
    assert (ARTIFACTS / "champion.png").stat().st_size > 0


def test_a_thousand_class_gallery_pages_by_a_hundred(server, page):
    page.goto(server + "/runs/wide-run")
    wait_until(page, "document.querySelectorAll('#gallery .card').length === 100")
    assert page.inner_text("#count") == "1000 of 1000 classes"
    assert page.eval_on_selector_all("#pages button", "buttons => buttons.length") == 10
    page.click("#pages button:nth-child(10)")
    page.wait_for_selector("#gallery .card[data-class='999']")
    page.fill("#filter", "class 123")
    wait_until(page, "document.querySelectorAll('#gallery .card').length === 1")
    wait_until(page, "document.querySelector('#gallery .card img').naturalWidth > 0")
