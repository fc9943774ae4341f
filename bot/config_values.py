"""The pieces settings are made of: the one-line error, the secret wrapper, and the parser of each
kind of value. `bot.config` names which variable is parsed how."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from bot.i18n import LANGUAGES
from bot.secret_box import valid_key


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line fit for an operator."""


class SettingsErrors(ConfigError):
    """Every malformed setting at once: (variable, one line) each, so none hides another."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(message for _, message in self.errors))

    def lines(self) -> list[str]:
        return [message for _, message in self.errors]


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret value whose repr and str never reveal it."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self.value)


def redact_url(url: str) -> str:
    """Hide a password inside a URL such as postgresql://user:pw@host/db."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def text(name: str, raw: str) -> str:
    return raw.strip()


def secret(name: str, raw: str) -> Secret | None:
    raw = raw.strip()
    return Secret(raw) if raw else None


def prefixed_secret(prefix: str) -> Callable[[str, str], Secret | None]:
    def parse(name: str, raw: str) -> Secret | None:
        value = secret(name, raw)
        if value is not None and not value.value.startswith(prefix):
            raise ConfigError(f"{name} must start with '{prefix}' (a Slack token of that kind)")
        return value

    return parse


def http_url(name: str, raw: str) -> str:
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{name} must be an http:// or https:// URL with a host, got {url!r}"
        )
    return url


def web_url_template(name: str, raw: str) -> str:
    """A release link template: an http(s) URL with `{id}`, safe inside a Slack link."""
    template = http_url(name, raw)
    if "{id}" not in template:
        raise ConfigError(
            f"{name} must hold `{{id}}` where the release id goes, e.g. "
            "https://app.metakraftwerk.com/releases/{id}"
        )
    if any(c in template for c in "<>| \t\n"):
        raise ConfigError(f"{name} must not contain spaces, `<`, `>` or `|`")
    return template


def slack_api_url(name: str, raw: str) -> str:
    url = http_url(name, raw)
    return url if url.endswith("/") else url + "/"


def positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw.strip()!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number, got {raw.strip()!r}")
    return value


def int_in(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw.strip()!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value

    return parse


DatabaseKind = Literal["sqlite", "postgresql"]


def database_kind(url: str) -> DatabaseKind | None:
    """The engine a DATABASE_URL names (`postgres://`, `postgresql+psycopg://` and the like
    are one kind); None for any other scheme. The one place that reads a URL's kind."""
    scheme = urlsplit(url.strip()).scheme.split("+", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    return None


def database_url(name: str, raw: str) -> str:
    url = raw.strip()
    if database_kind(url) is None:
        raise ConfigError(
            f"{name} must be sqlite:///path.db or postgresql://user@host/db, "
            f"got {redact_url(url)!r}"
        )
    return url


def redis_url(name: str, raw: str) -> str:
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(
            f"{name} must be redis://host:6379/0 or rediss://..., got {redact_url(url)!r}"
        )
    if "password=" in parts.query.lower():
        # Only the password in the URL's user part is redacted from logs and reprs.
        raise ConfigError(
            f"{name} must carry its password as redis://:password@host, not ?password="
        )
    try:
        parts.port  # noqa: B018 - a malformed port raises here, not at the first lookup
    except ValueError:
        raise ConfigError(f"{name} has a malformed port: {redact_url(url)!r}") from None
    if parts.path.strip("/") and not parts.path.strip("/").isdigit():
        raise ConfigError(f"{name} must end in a database number such as /0, got {parts.path!r}")
    return url


def timezone(name: str, raw: str) -> str:
    tz = raw.strip()
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone such as Europe/Berlin, got {tz!r}"
        ) from None
    return tz


def id_set(name: str, raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


def log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{name} must be DEBUG, INFO, WARNING or ERROR, got {raw.strip()!r}")
    return level


def bot_mode(name: str, raw: str) -> str:
    mode = raw.strip().lower()
    if mode not in ("single", "distributed"):
        raise ConfigError(f"{name} must be single or distributed, got {raw.strip()!r}")
    return mode


def is_loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")


def public_url(name: str, raw: str) -> str:
    """https, or plain http on a loopback address (a local test): Slack and browsers reach it."""
    url = http_url(name, raw).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        raise ConfigError(f"{name} must be an https:// URL (plain http only on a loopback address)")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must be a base URL without ?query or #fragment")
    return url


def allowed_urls(name: str, raw: str) -> tuple[str, ...]:
    urls: list[str] = []
    for part in raw.split(","):
        if part.strip():
            url = public_url(name, part)
            if urlsplit(url).path not in ("", "/"):
                raise ConfigError(f"{name} holds base URLs without a path, got {url!r}")
            urls.append(url)
    if not urls:
        raise ConfigError(f"{name} must name at least one MetaKraftwerk base URL")
    return tuple(dict.fromkeys(urls))


def fernet_keys(name: str, raw: str) -> tuple[Secret, ...]:
    keys = tuple(Secret(part.strip()) for part in raw.split(",") if part.strip())
    for position, key in enumerate(keys, start=1):
        if not valid_key(key.value):
            raise ConfigError(
                f"{name} key {position} is not a Fernet key (32 url-safe base64 bytes; make one "
                "with `releases-bot keys new`)"
            )
    return keys


# environment variable -> (settings field, parser)


def language(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in LANGUAGES:
        raise ConfigError(f"{name} must be one of {', '.join(LANGUAGES)}, got {raw.strip()!r}")
    return value
