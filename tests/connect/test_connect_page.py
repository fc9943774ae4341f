"""The connect page over real HTTP: the form, its headers, and every way a post is refused.

The web process's WSGI app (waitress, loopback) against the demo MetaKraftwerk API as the one
allowed base URL; a plain HTTP client plays the browser (tests/e2e has a real one).
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import create_engine, select

from bot.connect.routes import MAX_BODY_BYTES, POSTS_PER_LINK, REQUESTS_PER_MINUTE
from bot.demo import DEMO_EMAIL, DEMO_PASSWORD
from bot.notify.store.schema import connections
from tests.connect.serving import TENANT, ConnectSite


def _open(client: httpx.Client, link: str) -> str:
    """GET the link, return the CSRF field (the cookie stays in the client)."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def _post(client: httpx.Client, link: str, csrf: str, **fields: str) -> httpx.Response:
    form = {"csrf": csrf, "email": DEMO_EMAIL, "password": DEMO_PASSWORD, **fields}
    return client.post(link, data=form)


def test_the_form_offers_only_the_allowlist_and_sends_strict_headers(site: ConnectSite) -> None:
    with httpx.Client() as client:
        page = client.get(site.new_link())
    assert page.status_code == 200
    assert re.findall(r'<option value="([^"]+)"', page.text) == [site.demo.url]
    assert 'type="password"' in page.text
    assert "<script" not in page.text
    csp = page.headers["content-security-policy"]
    for part in ("default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"):
        assert part in csp
    assert re.search(r"style-src 'nonce-[^']+'", csp)
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "HttpOnly" in page.headers["set-cookie"]
    assert "SameSite=Strict" in page.headers["set-cookie"]


def test_a_good_account_is_stored_sealed_and_the_link_is_spent(site: ConnectSite) -> None:
    link = site.new_link()
    with httpx.Client() as client:
        done = _post(client, link, _open(client, link), base_url=site.demo.url)
        assert done.status_code == 200, done.text
        assert "Connected as" in done.text
        again = client.get(link)
    assert again.status_code == 410
    connection = site.connections.for_workspace(TENANT)
    assert connection is not None
    assert (connection.email, connection.base_url, connection.connected_by) == (
        DEMO_EMAIL, site.demo.url, "U1")
    assert site.connections.password(connection) == DEMO_PASSWORD
    token = site.connections.session_token(connection)
    assert token
    assert site.demo.token_is_valid(token)
    assert site.demo.counts.count("/api/v1/releases", "GET", {"closed": "false"}) == 1
    assert site.demo.counts.count("/authentication", "POST") == 1
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        row = conn.execute(select(connections)).one()
    engine.dispose()
    assert DEMO_PASSWORD not in row.password_sealed
    assert token not in row.session_token_sealed


def test_a_wrong_password_says_so_keeps_the_email_and_the_link(site: ConnectSite) -> None:
    link = site.new_link()
    with httpx.Client() as client:
        csrf = _open(client, link)
        wrong = _post(client, link, csrf, base_url=site.demo.url, email="a&b@example.com",
                      password="nope")
        assert wrong.status_code == 422
        assert "did not accept this email and password" in wrong.text
        assert 'value="a&amp;b@example.com"' in wrong.text
        assert _post(client, link, csrf, base_url=site.demo.url).status_code == 200
    assert site.connections.for_workspace(TENANT) is not None


def test_a_base_url_outside_the_allowlist_is_refused_unasked(site: ConnectSite) -> None:
    link = site.new_link()
    with httpx.Client() as client:
        refused = _post(client, link, _open(client, link), base_url="http://169.254.169.254")
    assert refused.status_code == 400
    assert "from the list" in refused.text
    assert site.connections.for_workspace(TENANT) is None


@pytest.mark.parametrize("tamper", ["field", "cookie"])
def test_a_post_without_its_csrf_token_and_cookie_is_refused(
    site: ConnectSite, tamper: str
) -> None:
    link = site.new_link()
    with httpx.Client() as client:
        csrf = _open(client, link)
        if tamper == "field":
            csrf = csrf[:-2] + ("AA" if not csrf.endswith("AA") else "BB")
        else:
            client.cookies.clear()
        refused = _post(client, link, csrf, base_url=site.demo.url)
    assert refused.status_code == 403
    assert site.connections.for_workspace(TENANT) is None


def test_links_that_are_forged_expired_or_for_nobody_are_refused(site: ConnectSite) -> None:
    link = site.new_link()
    forged = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")
    with httpx.Client() as client:
        assert client.get(forged).status_code == 404
        assert client.get(f"{site.url}/connect/").status_code == 404
        csrf = _open(client, link)
        site.clock.advance(timedelta(minutes=10, seconds=1))
        assert client.get(link).status_code == 410
        assert _post(client, link, csrf, base_url=site.demo.url).status_code == 410


def test_bodies_over_the_cap_and_endless_tries_are_refused(site: ConnectSite) -> None:
    link = site.new_link()
    with httpx.Client() as client:
        csrf = _open(client, link)
        big = _post(client, link, csrf, base_url=site.demo.url, email="x" * MAX_BODY_BYTES)
        assert big.status_code == 413
        for _ in range(POSTS_PER_LINK):
            _post(client, link, csrf, base_url=site.demo.url, password="wrong")
        stopped = _post(client, link, csrf, base_url=site.demo.url)
        assert stopped.status_code == 429


def test_one_address_asking_too_often_is_told_to_wait(site: ConnectSite) -> None:
    link = site.new_link()
    with httpx.Client() as client:
        answers = [client.get(link).status_code for _ in range(REQUESTS_PER_MINUTE + 1)]
        assert answers[:-1] == [200] * REQUESTS_PER_MINUTE
        assert answers[-1] == 429
        site.clock.advance(61)  # the window has passed
        assert client.get(link).status_code == 200
