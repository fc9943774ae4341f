"""The connect page in a real headless browser: Debian's chromium driven by Playwright.

The web process's WSGI app is served over loopback against the demo MetaKraftwerk API; the
browser opens the link from Slack, fills the form and submits it as an admin would. Without a
browser the tests skip with the reason, except under CI=true, where they fail: .ci/run installs
chromium, so CI always runs them. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from playwright.sync_api import Browser, Error, Page, sync_playwright

from bot.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.connect.serving import TENANT, ConnectSite

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def _no_browser(reason: str) -> NoReturn:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"no headless browser in CI: {reason}")
    pytest.skip(f"no headless browser: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        _no_browser(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as driver:
        try:
            launched = driver.chromium.launch(
                executable_path=str(CHROMIUM), headless=True,
                args=["--no-sandbox", "--disable-dev-shm-usage"],
            )
        except Error as exc:
            _no_browser(f"{CHROMIUM} does not start: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _fill(page: Page, site: ConnectSite, password: str) -> None:
    page.select_option("#base_url", site.demo.url)
    page.fill("#email", DEMO_EMAIL)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_an_admin_connects_in_the_browser(page: Page, site: ConnectSite) -> None:
    link = site.new_link()
    page.goto(link)
    assert page.title() == "Connect MetaKraftwerk"
    _fill(page, site, DEMO_PASSWORD)
    assert "Connected as" in page.inner_text("#done")
    connection = site.connections.for_workspace(TENANT)
    assert connection is not None
    assert (connection.email, connection.base_url) == (DEMO_EMAIL, site.demo.url)
    assert site.connections.password(connection) == DEMO_PASSWORD
    # The same link again, as from the browser's history: refused.
    answer = page.goto(link)
    assert answer is not None
    assert answer.status == 410
    assert "expired or was used" in page.inner_text("#refused")


def test_a_wrong_password_shows_why_and_keeps_the_email(
    page: Page, site: ConnectSite
) -> None:
    page.goto(site.new_link())
    _fill(page, site, "not-the-password")
    assert "did not accept this email and password" in page.inner_text("[role=alert]")
    assert page.input_value("#email") == DEMO_EMAIL
    assert page.input_value("#password") == ""
    assert site.connections.for_workspace(TENANT) is None
    _fill(page, site, DEMO_PASSWORD)  # the same link still works
    assert site.connections.for_workspace(TENANT) is not None


def test_a_tampered_csrf_token_is_refused(page: Page, site: ConnectSite) -> None:
    page.goto(site.new_link())
    page.eval_on_selector("input[name=csrf]", "field => { field.value = 'forged' + field.value }")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        _fill(page, site, DEMO_PASSWORD)
    assert posted.value.status == 403
    assert "This form has expired" in page.inner_text("#refused")
    assert site.connections.for_workspace(TENANT) is None


def test_the_policy_blocks_inline_script(page: Page, site: ConnectSite) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    page.goto(site.new_link())
    page.evaluate("""() => {
        const script = document.createElement('script');
        script.textContent = 'window.injected = true';
        document.body.appendChild(script);
        const handler = document.createElement('img');
        handler.setAttribute('src', 'data:,');
        handler.setAttribute('onerror', 'window.injected = true');
        document.body.appendChild(handler);
    }""")
    page.wait_for_function("() => document.readyState === 'complete'")
    assert page.evaluate("() => window.injected === undefined")
    assert any("Content Security Policy" in text for text in violations)
    # The page's own stylesheet (under the policy's nonce) still applies.
    assert page.evaluate("() => getComputedStyle(document.body).maxWidth") == "448px"
