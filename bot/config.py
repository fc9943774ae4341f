"""Settings read once from the environment (and a `.env` file), validated into one frozen object.

A bad value stops the start with a single line naming the variable, so an operator never has to
read a traceback to find a typo. Secrets are wrapped so that no repr or log line can show them.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.i18n import LANGUAGES

T = TypeVar("T")

DEFAULT_METAKRAFTWERK_URL = "https://app.metakraftwerk.com"


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


@dataclass(frozen=True, slots=True)
class Settings:
    slack_bot_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    slack_app_token: Secret | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_timeout_seconds: float = 15.0  # one Web API call, before it counts as failed
    slack_retry_base_seconds: float = 1.0  # first back-off ceiling after Slack failed a post
    metakraftwerk_url: str = DEFAULT_METAKRAFTWERK_URL
    metakraftwerk_url_set: bool = False  # METAKRAFTWERK_URL was given, even as the default
    metakraftwerk_token: Secret | None = None
    metakraftwerk_email: str | None = None
    metakraftwerk_password: Secret | None = None
    metakraftwerk_web_url: str | None = None  # a link template with `{id}`
    cache_ttl_seconds: float = 60.0
    cache_max_entries: int = 1024
    api_deadline_seconds: float = 8.0
    database_url: str = "sqlite:///releases-bot.db"
    cache_url: str | None = None
    poll_interval_seconds: float = 60.0
    port: int = 3000
    metrics_port: int | None = None  # the worker's /metrics and /healthz; unset: none
    default_timezone: str = "UTC"
    digest_grace_minutes: int = 60
    subscription_managers: frozenset[str] = frozenset()
    listener_threads: int = 32
    work_queue_limit: int = 128
    log_level: str = "INFO"
    web_concurrency: int = 1  # web processes of `serve` (its --workers wins)
    default_language: str = "en"  # for people whose own and Slack language the bot lacks

    @property
    def has_metakraftwerk_credentials(self) -> bool:
        """True when the bot can authenticate against a real MetaKraftwerk."""
        return bool(self.metakraftwerk_token) or bool(
            self.metakraftwerk_email and self.metakraftwerk_password
        )

    @property
    def names_metakraftwerk(self) -> bool:
        """True when any MetaKraftwerk setting is given: then the demo must not stand in."""
        return (
            self.has_metakraftwerk_credentials
            or self.metakraftwerk_url_set
            or bool(self.metakraftwerk_email)
            or self.metakraftwerk_url != DEFAULT_METAKRAFTWERK_URL
        )

    @property
    def uses_socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.redacted().items())
        return f"Settings({fields})"

    def secret_values(self) -> tuple[str, ...]:
        """Every secret's value, for the logs to mask: the Secret fields and URL passwords."""
        values: list[str] = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Secret) and value.value:
                values.append(value.value)
            elif name.endswith("_url") and isinstance(value, str):
                password = urlsplit(value).password
                if password:
                    values.append(password)
        return tuple(values)

    def redacted(self) -> dict[str, object]:
        """Every setting, secrets shown only as set or unset: safe to log."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Secret):
                out[name] = "<set>" if value else "<empty>"
            elif name in ("database_url", "cache_url") and value is not None:
                out[name] = redact_url(str(value))
            elif isinstance(value, frozenset):
                out[name] = sorted(value)
            else:
                out[name] = value
        return out


def redact_url(url: str) -> str:
    """Hide a password inside a URL such as postgresql://user:pw@host/db."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _text(name: str, raw: str) -> str:
    return raw.strip()


def _secret(name: str, raw: str) -> Secret | None:
    raw = raw.strip()
    return Secret(raw) if raw else None


def _prefixed_secret(prefix: str) -> Callable[[str, str], Secret | None]:
    def parse(name: str, raw: str) -> Secret | None:
        secret = _secret(name, raw)
        if secret is not None and not secret.value.startswith(prefix):
            raise ConfigError(f"{name} must start with '{prefix}' (a Slack token of that kind)")
        return secret

    return parse


def _http_url(name: str, raw: str) -> str:
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{name} must be an http:// or https:// URL with a host, got {url!r}"
        )
    return url


def _web_url_template(name: str, raw: str) -> str:
    """A release link template: an http(s) URL with `{id}`, safe inside a Slack link."""
    template = _http_url(name, raw)
    if "{id}" not in template:
        raise ConfigError(
            f"{name} must hold `{{id}}` where the release id goes, e.g. "
            "https://app.metakraftwerk.com/releases/{id}"
        )
    if any(c in template for c in "<>| \t\n"):
        raise ConfigError(f"{name} must not contain spaces, `<`, `>` or `|`")
    return template


def _slack_api_url(name: str, raw: str) -> str:
    url = _http_url(name, raw)
    return url if url.endswith("/") else url + "/"


def _positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw.strip()!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number, got {raw.strip()!r}")
    return value


def _int_in(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw.strip()!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value

    return parse


def _database_url(name: str, raw: str) -> str:
    url = raw.strip()
    scheme = urlsplit(url).scheme.split("+", 1)[0]
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(
            f"{name} must be sqlite:///path.db or postgresql://user@host/db, "
            f"got {redact_url(url)!r}"
        )
    return url


def _redis_url(name: str, raw: str) -> str:
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


def _timezone(name: str, raw: str) -> str:
    tz = raw.strip()
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone such as Europe/Berlin, got {tz!r}"
        ) from None
    return tz


def _id_set(name: str, raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


def _log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{name} must be DEBUG, INFO, WARNING or ERROR, got {raw.strip()!r}")
    return level


def _language(name: str, raw: str) -> str:
    language = raw.strip().lower()
    if language not in LANGUAGES:
        raise ConfigError(f"{name} must be one of {', '.join(LANGUAGES)}, got {raw.strip()!r}")
    return language


# environment variable -> (settings field, parser)
_VARIABLES: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "SLACK_BOT_TOKEN": ("slack_bot_token", _prefixed_secret("xoxb-")),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", _secret),
    "SLACK_APP_TOKEN": ("slack_app_token", _prefixed_secret("xapp-")),
    "SLACK_API_URL": ("slack_api_url", _slack_api_url),
    "SLACK_TIMEOUT_SECONDS": ("slack_timeout_seconds", _positive_float),
    "SLACK_RETRY_BASE_SECONDS": ("slack_retry_base_seconds", _positive_float),
    "METAKRAFTWERK_URL": ("metakraftwerk_url", _http_url),
    "METAKRAFTWERK_TOKEN": ("metakraftwerk_token", _secret),
    "METAKRAFTWERK_EMAIL": ("metakraftwerk_email", _text),
    "METAKRAFTWERK_PASSWORD": ("metakraftwerk_password", _secret),
    "METAKRAFTWERK_WEB_URL": ("metakraftwerk_web_url", _web_url_template),
    "CACHE_TTL_SECONDS": ("cache_ttl_seconds", _positive_float),
    "CACHE_MAX_ENTRIES": ("cache_max_entries", _int_in(1, 1_000_000)),
    "API_DEADLINE_SECONDS": ("api_deadline_seconds", _positive_float),
    "DATABASE_URL": ("database_url", _database_url),
    "CACHE_URL": ("cache_url", _redis_url),
    "POLL_INTERVAL_SECONDS": ("poll_interval_seconds", _positive_float),
    "PORT": ("port", _int_in(1, 65535)),
    "METRICS_PORT": ("metrics_port", _int_in(1, 65535)),
    "DEFAULT_TIMEZONE": ("default_timezone", _timezone),
    "DIGEST_GRACE_MINUTES": ("digest_grace_minutes", _int_in(0, 24 * 60)),
    "SUBSCRIPTION_MANAGERS": ("subscription_managers", _id_set),
    "LISTENER_THREADS": ("listener_threads", _int_in(1, 512)),
    "WORK_QUEUE_LIMIT": ("work_queue_limit", _int_in(0, 100_000)),
    "LOG_LEVEL": ("log_level", _log_level),
    "WEB_CONCURRENCY": ("web_concurrency", _int_in(1, 64)),
    "DEFAULT_LANGUAGE": ("default_language", _language),
}


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> Settings:
    """Read the settings; the real environment wins over `.env`, as python-dotenv intends.

    Raises SettingsErrors naming every malformed variable, not only the first."""
    settings, errors = read_settings(environ, dotenv_path)
    if errors:
        raise SettingsErrors(errors)
    return settings


def read_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> tuple[Settings, list[tuple[str, str]]]:
    """The settings with each malformed variable left at its default, and what was wrong with
    each (variable, message): `check` reports them all and checks the rest."""
    env: dict[str, str] = {}
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    if path.is_file():
        env.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    values: dict[str, object] = {}
    errors: list[tuple[str, str]] = []
    for variable, (attribute, parse) in _VARIABLES.items():
        raw = env.get(variable)
        if raw is None or raw.strip() == "":
            continue
        try:
            values[attribute] = parse(variable, raw)
        except ConfigError as exc:
            errors.append((variable, str(exc)))
    values["metakraftwerk_url_set"] = "metakraftwerk_url" in values
    settings = Settings(**values)  # type: ignore[arg-type]
    if bool(settings.metakraftwerk_email) != bool(settings.metakraftwerk_password):
        errors.append((
            "METAKRAFTWERK_EMAIL",
            "METAKRAFTWERK_EMAIL and METAKRAFTWERK_PASSWORD must be set together",
        ))
    return settings, errors


NO_METAKRAFTWERK_CREDENTIALS = (
    "METAKRAFTWERK_TOKEN, or METAKRAFTWERK_EMAIL and METAKRAFTWERK_PASSWORD, must be set "
    "(or pass --demo to use the built-in demo API)"
)


def metakraftwerk_source(settings: Settings, *, demo_allowed: bool) -> Literal["api", "demo"]:
    """Where releases come from: the one rule every process follows.

    Credentials mean the real API. The built-in demo stands in only where the process allows
    it (console, `ask`, `check`) and only when no MetaKraftwerk setting at all is given: a URL
    or an e-mail without credentials is a mistake to report, never a reason to show sample data.
    """
    if settings.has_metakraftwerk_credentials:
        return "api"
    if not demo_allowed:
        raise ConfigError(NO_METAKRAFTWERK_CREDENTIALS)
    if settings.names_metakraftwerk:
        given = "METAKRAFTWERK_EMAIL" if settings.metakraftwerk_email else "METAKRAFTWERK_URL"
        raise ConfigError(
            f"{given} is set but no credentials are: set METAKRAFTWERK_TOKEN, or "
            "METAKRAFTWERK_EMAIL and METAKRAFTWERK_PASSWORD"
        )
    return "demo"
