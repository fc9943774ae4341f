"""Every configured secret is masked in every log line and traceback, whatever its shape."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from bot import logs
from bot.app.answers import Answers
from bot.app.workflow_step import unexpected_error
from bot.config import Settings, load_settings
from bot.logs import Redactor, configure_logging, mask_secrets
from tests.fakes.clock import FakeClock

# Shapes the patterns cannot know: a comma and a brace, an `@`, a bare hex signing secret.
MK_PASSWORD = "s3cr3t, pass}word@x"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
DB_PASSWORD = "db/p@ss, w}rd"
CACHE_PASSWORD = "r3d1s-pa55"
ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-abcdef",
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_APP_TOKEN": "xapp-1-A01-3333-feedbeef",
    "METAKRAFTWERK_TOKEN": "opaque-mk-token-7d1e",
    "METAKRAFTWERK_EMAIL": "releases-bot@corp.example",
    "METAKRAFTWERK_PASSWORD": MK_PASSWORD,
    "DATABASE_URL": f"postgresql://bot:{quote(DB_PASSWORD, safe='')}@db.internal:5432/bot",
}
SECRETS = [
    ENV["SLACK_BOT_TOKEN"],
    SIGNING_SECRET,
    ENV["SLACK_APP_TOKEN"],
    ENV["METAKRAFTWERK_TOKEN"],
    MK_PASSWORD,
    DB_PASSWORD,
]


def forms(secret: str) -> list[str]:
    """How a secret turns up in text: as is, URL-encoded, JSON-escaped, in a repr."""
    return [secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]]


@pytest.fixture
def settings() -> Settings:
    return load_settings(ENV, dotenv_path=None)


@contextmanager
def bot_logging(settings: Settings) -> Iterator[None]:
    """The process's logging as the bot configures it (to the current stderr), own redactor."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO", secrets=settings.secret_values(), redactor=Redactor())
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_settings_know_every_secret(settings: Settings) -> None:
    values = settings.secret_values()
    for secret in SECRETS:
        assert secret in values or quote(secret, safe="") in values
    assert "releases-bot@corp.example" not in values  # an account name is not a secret
    assert Settings().secret_values() == ()


def test_a_url_password_of_any_setting_ending_in_url_is_a_secret() -> None:
    settings = Settings(database_url="sqlite:///x.db")
    assert settings.secret_values() == ()
    redis = Settings(database_url=f"redis://:{CACHE_PASSWORD}@127.0.0.1:6379/12")
    assert redis.secret_values() == (CACHE_PASSWORD,)


@pytest.mark.parametrize("secret", SECRETS)
def test_a_log_record_shows_no_form_of_any_secret(
    secret: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logging.getLogger("tests.logs")
    with bot_logging(settings):
        for form in forms(secret):
            log.warning("plain %s here", form)
            log.warning("in a dict %s", {"value": form, "other": 1})
            log.warning('in JSON {"password": "%s", "user": "bot"}', form)
    err = capsys.readouterr().err
    assert "plain *** here" in err
    for form in forms(secret):
        assert form not in err
    assert '"user": "bot"' in err  # the text around a secret survives


@pytest.mark.parametrize("secret", SECRETS)
def test_a_traceback_shows_no_secret(
    secret: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with bot_logging(settings):
        try:
            raise RuntimeError(f"could not connect with {secret} ({quote(secret, safe='')})")
        except RuntimeError:
            logging.getLogger("tests.logs").exception("connecting failed")
    err = capsys.readouterr().err
    assert "connecting failed" in err
    assert "RuntimeError: could not connect with ***" in err
    for form in forms(secret):
        assert form not in err


def test_a_longer_secret_is_masked_whole_when_a_shorter_one_is_inside_it() -> None:
    redactor = Redactor(["abcd", "xxabcdxx"])
    assert redactor.mask("see xxabcdxx and abcd") == "see *** and ***"


def test_tiny_values_are_not_secrets_worth_masking_everywhere() -> None:
    redactor = Redactor(["", "a", "on"])
    assert redactor.mask("a bit on top") == "a bit on top"


def test_passwords_of_json_bodies_are_masked_by_shape_with_commas_and_braces() -> None:
    # Text from elsewhere (an upstream error body): its passwords are not configured values.
    text = '{"user": "x", "password": "p, a}s\\"s", "n": 1} and password=\'q, r}\''
    masked = mask_secrets(text)
    assert masked == '{"user": "x", "password": "***", "n": 1} and password=\'***\''


def test_a_message_its_arguments_do_not_fit_is_shown_masked(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with bot_logging(settings):
        logging.getLogger("tests.logs").warning("two places %s %s", SIGNING_SECRET)
    err = capsys.readouterr().err
    assert SIGNING_SECRET not in err
    assert "two places %s %s ('***',)" in err
    assert "Logging error" not in err


# ---- the shape patterns run only where a shape can be -------------------------------------

_SHAPE_WORDS = [
    "xoxb-", "xoxp-1-", "xapp-", "Bearer ", "bearer\t", "password", "Passwd", "pwd", "secret",
    "client_secret", "accessToken", "access_token", "token", "api_key", "APIKEY", "://", "redis",
]
_JOINS = ["", ":", "=", ": ", '":"', "='", "://u:p@h/", " x", "a1"]
_FILLER = [
    "https", "u", ":", "=", "@", "/", '"', "'", " ", ",", "}", "\\", "a1", "-", ".", "\n",
]


def _every_pattern(text: str) -> str:
    for pattern in logs._SECRET_PATTERNS:
        text = pattern.sub(logs._masked_shape, text)
    return text


@pytest.mark.parametrize("word", _SHAPE_WORDS)
def test_skipping_the_patterns_never_skips_a_match_after_any_word(word: str) -> None:
    for join in _JOINS:
        text = f"say {word}{join}v4lue, more"
        assert Redactor().mask(text) == _every_pattern(text), text


@examples(max_examples=300)
@given(st.lists(st.sampled_from(_SHAPE_WORDS + _JOINS + _FILLER), max_size=10).map("".join))
def test_skipping_the_patterns_never_skips_a_match(text: str) -> None:
    assert Redactor().mask(text) == _every_pattern(text)


def test_text_without_a_hint_of_a_shape_is_left_as_it_is() -> None:
    line = "2026-12-01 01:02:03 WARNING waitress.queue: Task queue depth is 4"
    assert Redactor().mask(line) == line


# ---- waitress's queue warnings: one line a minute under a burst ---------------------------


def test_the_throttle_lets_one_record_through_per_window_and_counts_the_rest() -> None:
    clock = FakeClock()
    throttle = logs.Throttle(60.0, clock)
    records = [logging.makeLogRecord({"msg": "Task queue depth is %d", "args": (i,)})
               for i in range(6)]
    assert throttle.filter(records[0])
    assert not throttle.filter(records[1])
    clock.advance(59.0)
    assert not throttle.filter(records[2])
    clock.advance(1.0)
    assert throttle.filter(records[3])
    assert records[3].getMessage() == "Task queue depth is 3 (and 2 more like it held back)"
    clock.advance(60.0)
    assert throttle.filter(records[4])
    assert records[4].getMessage() == "Task queue depth is 4"
    assert not throttle.filter(records[5])


def test_the_bot_logs_waitress_queue_warnings_once_a_minute(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = logging.getLogger("waitress.queue")
    saved = queue.filters[:]
    try:
        with bot_logging(settings):
            configure_logging("INFO", redactor=Redactor())  # configured twice: one throttle
            for depth in range(1, 30):
                queue.warning("Task queue depth is %d", depth)
            logging.getLogger("tests.logs").warning("other warnings pass")
        err = capsys.readouterr().err
    finally:
        queue.filters[:] = saved
    assert err.count("Task queue depth is") == 1
    assert "Task queue depth is 1" in err
    assert "other warnings pass" in err


def test_every_error_reference_has_the_one_shape() -> None:
    """The answers, the workflow step and the notification commands quote refs of one kind."""
    shape = re.compile(r"[0-9a-f]{6}")
    answers = Answers(cast(Any, None))
    from_answers = answers.log_unexpected(ValueError("boom"))
    found = re.search(r"\(ref ([^)]*)\)", unexpected_error(ValueError("boom")))
    assert found is not None
    for ref in (logs.new_ref(), from_answers, found.group(1)):
        assert shape.fullmatch(ref), ref
