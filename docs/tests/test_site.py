"""The built documentation site, opened in headless Chromium (``make docs-check``).

Serves ``docs/_build/html`` on 127.0.0.1 and loads the index, one API page per package and
one gallery page. A page passes when it loads with HTTP 200, the browser reports no console
error, no uncaught exception and no failed request, the page shows what it documents
(the API page the package's main object with its signature, the gallery page its figure,
decoded), and the sidebar navigation is there. Each page's screenshot is written to
``docs/_build/screenshots/`` (CI keeps them as an artifact).

Nothing leaves the machine: requests to other hosts (MathJax's CDN on pages with
formulas) are answered locally with an empty script and listed; only that CDN may appear.
Chromium is Debian's ``chromium`` package (``DOCS_CHROMIUM`` names another binary);
playwright drives it without downloading a browser.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from urllib.parse import urlparse

import pytest

DOCS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.path.join(DOCS, "_build", "html")
SCREENSHOTS = os.path.join(DOCS, "_build", "screenshots")
ALLOWED_EXTERNAL_HOSTS = {"cdn.jsdelivr.net"}  # MathJax, loaded by pages with formulas

# page, a CSS selector that must be visible, the text it must contain
PAGES = [
    ("index.html", "article h1", "Research ML workspace"),
    ("xcsvm/api.html", 'dt[id="xcsvm.WWClassifier"]', "WWClassifier"),
    ("rbkernels/api.html", 'dt[id="rbkernels.GaussianBasis"]', "GaussianBasis"),
    ("innvestigate/api.html", 'dt[id="innvestigate.create_analyzer"]', "create_analyzer"),
    ("shared-datasets/api.html", 'dt[id="shared_datasets.load"]', "load"),
    ("innvestigate/examples/visualizations.html", "article img", ""),
    ("innvestigate/examples/index.html", ".sd-card img", ""),
]


def _chromium() -> str | None:
    candidate = os.environ.get("DOCS_CHROMIUM")
    if candidate:
        return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server():
    if not os.path.exists(os.path.join(SITE, "index.html")):
        pytest.fail(f"{SITE} has no index.html: build the site first (make docs)")
    handler = functools.partial(_QuietHandler, directory=SITE)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.fail("no Chromium: apt-get install chromium (Debian), or set DOCS_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -r docs/requirements.txt (make docs)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.mark.parametrize("path, selector, text", PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_without_console_errors(server, browser, path, selector, text):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console_errors, page_errors, failed, external = [], [], [], []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
    page.on(
        "response",
        lambda r: failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None,
    )

    def offline(route):
        host = urlparse(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            external.append(route.request.url)
            route.fulfill(status=200, content_type="application/javascript", body="")

    page.route("**/*", offline)
    response = page.goto(f"{server}/{path}", wait_until="load")
    page.wait_for_load_state("networkidle")
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )

    element = page.locator(selector).first
    element.wait_for(state="visible", timeout=10_000)
    assert text in element.inner_text(), f"{path}: {selector} does not show {text!r}"
    if selector.endswith("img"):
        width = element.evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 100, f"{path}: the figure did not decode (naturalWidth {width})"
    # the theme's navigation bar links every package section
    nav = page.locator("nav").first.inner_text()
    for package in ("xcsvm", "rbkernels", "innvestigate", "shared-datasets"):
        assert package in nav, f"{path}: the navigation bar lacks {package}"

    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, path.replace("/", "_").replace(".html", ".png")))
    page.close()

    assert console_errors == [], f"{path}: console errors {console_errors}"
    assert page_errors == [], f"{path}: uncaught exceptions {page_errors}"
    assert failed == [], f"{path}: failed requests {failed}"
    hosts = {urlparse(url).hostname for url in external}
    assert hosts <= ALLOWED_EXTERNAL_HOSTS, f"{path}: requests to other hosts {sorted(external)}"
