"""A canary for the private slack_sdk method bot/slack/webclient.py overrides.

`KeptAliveWebClient` replaces `WebClient._perform_urllib_http_request_internal` and relies on
its caller, `_perform_urllib_http_request`, to turn `HTTPError` and `URLError` into slack_sdk's
retries and errors. Neither is public API, so an upgrade may change either without notice.
These pin their signatures and their source: when slack_sdk changes them, this fails loudly.
Then read the new source, adapt the override, and record the new digests here.
"""

from __future__ import annotations

import hashlib
import inspect
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.state import RetryState
from slack_sdk.version import __version__ as slack_sdk_version

from bot.slack.webclient import KeptAliveWebClient

# slack_sdk 3.48.0
OVERRIDDEN = "_perform_urllib_http_request_internal"
CALLER = "_perform_urllib_http_request"
DIGESTS = {
    OVERRIDDEN: "fabcc4caa02c991cf45de3e0463c01d45742b569c718a095192b64dec5a726e3",
    CALLER: "eb84978f50485f1c8f1980313dfe3bebd4257713ebfff242becc1549a5672b3a",
}


def _digest(name: str) -> str:
    return hashlib.sha256(inspect.getsource(getattr(WebClient, name)).encode()).hexdigest()


def test_the_overridden_method_still_exists_with_the_same_signature() -> None:
    ours = inspect.signature(getattr(KeptAliveWebClient, OVERRIDDEN))
    theirs = inspect.signature(getattr(WebClient, OVERRIDDEN))
    assert list(ours.parameters) == list(theirs.parameters) == ["self", "url", "req"]
    assert getattr(KeptAliveWebClient, OVERRIDDEN) is not getattr(WebClient, OVERRIDDEN)


def test_slack_sdk_still_calls_it_from_the_same_caller() -> None:
    caller = inspect.getsource(getattr(WebClient, CALLER))
    assert f"self.{OVERRIDDEN}(" in caller
    for handled in ("except HTTPError", "except Exception", "self.retry_handlers"):
        assert handled in caller, f"slack_sdk's {CALLER} no longer has {handled!r}"


def test_the_connection_retry_handler_still_retries_a_url_error() -> None:
    """The override raises URLError for a request that could not be sent; this must retry it."""
    handler = ConnectionErrorRetryHandler(max_retry_count=2)
    request = HttpRequest(method="POST", url="https://slack.example/api/x", headers={})
    error = URLError(ConnectionResetError(104, "Connection reset by peer"))
    assert handler.can_retry(state=RetryState(), request=request, response=None, error=error)


def test_neither_method_changed_since_the_override_was_written() -> None:
    changed = [name for name, digest in DIGESTS.items() if _digest(name) != digest]
    assert not changed, (
        f"slack_sdk {slack_sdk_version} changed WebClient.{', '.join(changed)}: re-read it, "
        "adapt bot/slack/webclient.py, and record the new digests in this test"
    )
