"""Settings read once from the environment (and a `.env` file), validated into one frozen object.

A bad value stops the start with a single line naming the variable, so an operator never has to
read a traceback to find a typo. Secrets are wrapped so that no repr or log line can show them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.config_values import (
    ConfigError,
    Secret,
    SettingsErrors,
    allowed_urls,
    bot_mode,
    database_kind,
    database_url,
    fernet_keys,
    http_url,
    id_set,
    int_in,
    language,
    log_level,
    positive_float,
    prefixed_secret,
    public_url,
    redact_url,
    redis_url,
    secret,
    slack_api_url,
    text,
    timezone,
    web_url_template,
)

__all__ = ["DEFAULT_METAKRAFTWERK_URL", "ConfigError", "Secret", "Settings", "SettingsErrors",
           "database_kind", "load_settings", "read_settings", "redact_url"]

DEFAULT_METAKRAFTWERK_URL = "https://app.metakraftwerk.com"


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
    mode: Literal["single", "distributed"] = "single"
    slack_client_id: str | None = None
    slack_client_secret: Secret | None = None
    public_url: str | None = None  # the web process's public base URL (distributed)
    secret_keys: tuple[Secret, ...] = ()  # Fernet keys: the first encrypts, all decrypt
    metakraftwerk_allowed_urls: tuple[str, ...] = (DEFAULT_METAKRAFTWERK_URL,)
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

    @property
    def is_distributed(self) -> bool:
        """Many workspaces installed through OAuth, each with its own MetaKraftwerk connection."""
        return self.mode == "distributed"

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
            elif isinstance(value, tuple):
                values.extend(v.value for v in value if isinstance(v, Secret) and v.value)
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
            elif name == "secret_keys":
                out[name] = f"<{len(value)} set>" if value else "<none>"
            elif name in ("database_url", "cache_url") and value is not None:
                out[name] = redact_url(str(value))
            elif isinstance(value, frozenset):
                out[name] = sorted(value)
            else:
                out[name] = value
        return out


_VARIABLES: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "SLACK_BOT_TOKEN": ("slack_bot_token", prefixed_secret("xoxb-")),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", secret),
    "SLACK_APP_TOKEN": ("slack_app_token", prefixed_secret("xapp-")),
    "SLACK_API_URL": ("slack_api_url", slack_api_url),
    "SLACK_TIMEOUT_SECONDS": ("slack_timeout_seconds", positive_float),
    "SLACK_RETRY_BASE_SECONDS": ("slack_retry_base_seconds", positive_float),
    "METAKRAFTWERK_URL": ("metakraftwerk_url", http_url),
    "METAKRAFTWERK_TOKEN": ("metakraftwerk_token", secret),
    "METAKRAFTWERK_EMAIL": ("metakraftwerk_email", text),
    "METAKRAFTWERK_PASSWORD": ("metakraftwerk_password", secret),
    "METAKRAFTWERK_WEB_URL": ("metakraftwerk_web_url", web_url_template),
    "CACHE_TTL_SECONDS": ("cache_ttl_seconds", positive_float),
    "CACHE_MAX_ENTRIES": ("cache_max_entries", int_in(1, 1_000_000)),
    "API_DEADLINE_SECONDS": ("api_deadline_seconds", positive_float),
    "DATABASE_URL": ("database_url", database_url),
    "CACHE_URL": ("cache_url", redis_url),
    "POLL_INTERVAL_SECONDS": ("poll_interval_seconds", positive_float),
    "PORT": ("port", int_in(1, 65535)),
    "METRICS_PORT": ("metrics_port", int_in(1, 65535)),
    "DEFAULT_TIMEZONE": ("default_timezone", timezone),
    "DIGEST_GRACE_MINUTES": ("digest_grace_minutes", int_in(0, 24 * 60)),
    "SUBSCRIPTION_MANAGERS": ("subscription_managers", id_set),
    "LISTENER_THREADS": ("listener_threads", int_in(1, 512)),
    "WORK_QUEUE_LIMIT": ("work_queue_limit", int_in(0, 100_000)),
    "LOG_LEVEL": ("log_level", log_level),
    "WEB_CONCURRENCY": ("web_concurrency", int_in(1, 64)),
    "DEFAULT_LANGUAGE": ("default_language", language),
    "RELEASES_BOT_MODE": ("mode", bot_mode),
    "SLACK_CLIENT_ID": ("slack_client_id", text),
    "SLACK_CLIENT_SECRET": ("slack_client_secret", secret),
    "PUBLIC_URL": ("public_url", public_url),
    "SECRET_KEYS": ("secret_keys", fernet_keys),
    "METAKRAFTWERK_ALLOWED_URLS": ("metakraftwerk_allowed_urls", allowed_urls),
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
    given = {variable for variable in _VARIABLES if (env.get(variable) or "").strip()}
    errors.extend(mode_errors(settings, given, failed={variable for variable, _ in errors}))
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


# Settings only one mode reads: naming one in the other mode is a mistake to report, not ignore.
_SINGLE_ONLY = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "METAKRAFTWERK_TOKEN",
                "METAKRAFTWERK_EMAIL", "METAKRAFTWERK_PASSWORD")
_DISTRIBUTED_ONLY = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SECRET_KEYS")
_DISTRIBUTED_NEEDS = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET",
                      "PUBLIC_URL", "SECRET_KEYS", "DATABASE_URL")
_WHY_SINGLE_ONLY = {
    "SLACK_BOT_TOKEN": "each workspace's token comes from its OAuth install",
    "SLACK_APP_TOKEN": "Socket Mode cannot serve apps installed from a link (Slack allows "
                       "it only for apps outside the App Directory); use HTTP with PUBLIC_URL",
    "METAKRAFTWERK_TOKEN": "each workspace connects its own MetaKraftwerk from App Home",
    "METAKRAFTWERK_EMAIL": "each workspace connects its own MetaKraftwerk from App Home",
    "METAKRAFTWERK_PASSWORD": "each workspace connects its own MetaKraftwerk from App Home",
}


def mode_errors(
    settings: Settings, given: AbstractSet[str], failed: AbstractSet[str] = frozenset()
) -> list[tuple[str, str]]:
    """What the chosen mode refuses: a mix of both modes' settings, and what it lacks.

    A client id beside a bot token would make Bolt switch to OAuth without a word, so the mode
    is a setting of its own and everything else must agree with it."""
    errors: list[tuple[str, str]] = []
    if not settings.is_distributed:
        mixed = [name for name in _DISTRIBUTED_ONLY if name in given]
        if mixed:
            errors.append((mixed[0], (
                f"{', '.join(mixed)} {'is' if len(mixed) == 1 else 'are'} set but "
                "RELEASES_BOT_MODE is single: set RELEASES_BOT_MODE=distributed to install from "
                "a link, or remove them"
            )))
        return errors
    for name in _SINGLE_ONLY:
        if name in given:
            errors.append((name, (
                f"{name} is set but RELEASES_BOT_MODE is distributed: {_WHY_SINGLE_ONLY[name]}"
            )))
    missing = [name for name in _DISTRIBUTED_NEEDS if name not in given and name not in failed]
    if missing:
        errors.append((missing[0], f"RELEASES_BOT_MODE=distributed needs {', '.join(missing)}"))
    if "DATABASE_URL" in given and "DATABASE_URL" not in failed and not is_postgresql(
        settings.database_url
    ):
        errors.append(("DATABASE_URL", (
            "DATABASE_URL must be PostgreSQL in distributed mode: every web and worker process "
            "shares the installations and claims work through it, which a SQLite file cannot do"
        )))
    return errors


def is_postgresql(url: str) -> bool:
    return database_kind(url) == "postgresql"
