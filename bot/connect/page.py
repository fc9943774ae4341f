"""The connect page's HTML: pure functions of what to show, every value escaped.

No script at all, one stylesheet inline under a per-response nonce: the Content Security
Policy (`security_headers`) allows nothing else, so an injected `<script>` does not run even
if escaping ever failed. The base URL is a `<select>` of the operator's allowlist, never a
text field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;"
    "color:#1d1c1d}label{display:block;margin-top:1rem;font-weight:600}"
    "input,select{width:100%;padding:.5rem;margin-top:.25rem;box-sizing:border-box}"
    "button{margin-top:1.5rem;padding:.6rem 1.2rem;font-weight:600}"
    ".error{color:#8a1c1c;border:1px solid #e0b4b4;background:#fff6f6;padding:.6rem}"
    ".note{color:#616061;font-size:.9rem}"
)


@dataclass(frozen=True, slots=True)
class Form:
    """What the form shows: the allowlist, the CSRF field, what to keep filled in, an error."""

    action: str  # the page's own path
    csrf: str
    base_urls: Sequence[str]
    email: str = ""
    base_url: str = ""
    error: str | None = None


def security_headers(style_nonce: str) -> list[tuple[str, str]]:
    """Headers for every answer of the page: nothing cached, framed, sniffed or referred."""
    return [
        ("Content-Security-Policy",
         f"default-src 'none'; style-src 'nonce-{style_nonce}'; form-action 'self'; "
         "frame-ancestors 'none'; base-uri 'none'"),
        ("Cache-Control", "no-store"),
        ("Pragma", "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]


def _page(title: str, body: str, style_nonce: str) -> bytes:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{escape(title)}</title>"
        f"<style nonce=\"{escape(style_nonce)}\">{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    ).encode()


def form_page(form: Form, style_nonce: str) -> bytes:
    options = "".join(
        f"<option value=\"{escape(url)}\"{' selected' if url == form.base_url else ''}>"
        f"{escape(url)}</option>"
        for url in form.base_urls
    )
    error = f"<p class=\"error\" role=\"alert\">{escape(form.error)}</p>" if form.error else ""
    body = (
        f"{error}<p class=\"note\">The bot logs in with this account to read releases for your "
        "workspace. Use a dedicated MetaKraftwerk user; the password is stored encrypted.</p>"
        f"<form method=\"post\" action=\"{escape(form.action)}\" autocomplete=\"off\">"
        f"<input type=\"hidden\" name=\"csrf\" value=\"{escape(form.csrf)}\">"
        "<label for=\"base_url\">MetaKraftwerk</label>"
        f"<select id=\"base_url\" name=\"base_url\">{options}</select>"
        "<label for=\"email\">Email</label>"
        f"<input id=\"email\" name=\"email\" type=\"email\" required maxlength=\"320\" "
        f"value=\"{escape(form.email)}\">"
        "<label for=\"password\">Password</label>"
        "<input id=\"password\" name=\"password\" type=\"password\" required maxlength=\"1024\" "
        "autocomplete=\"new-password\">"
        "<button type=\"submit\">Connect</button></form>"
    )
    return _page("Connect MetaKraftwerk", body, style_nonce)


def done_page(email: str, base_url: str, style_nonce: str) -> bytes:
    body = (
        f"<p id=\"done\">Connected as <strong>{escape(email)}</strong> to "
        f"{escape(base_url)}.</p><p>You can close this page and go back to Slack.</p>"
    )
    return _page("MetaKraftwerk connected", body, style_nonce)


def refused_page(reason: str, style_nonce: str) -> bytes:
    body = f"<p id=\"refused\">{escape(reason)}</p>"
    return _page("This link cannot be used", body, style_nonce)
