"""The Slack check: the bot token works (`auth.test`), and each mode's other setting is there."""

from __future__ import annotations

from bot.check.report import Report
from bot.config import ConfigError, Settings
from bot.slack.app import verify_bot_token


def check_slack(settings: Settings, report: Report) -> None:
    if settings.slack_bot_token is None:
        others = [
            name
            for name, value in (
                ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
                ("SLACK_APP_TOKEN", settings.slack_app_token),
            )
            if value is not None
        ]
        also = f" (though {' and '.join(others)} is)" if others else ""
        report.fail(
            "SLACK_BOT_TOKEN",
            f"is not set{also}: `serve`, `socket` and `worker` need it (xoxb-...); only "
            "`console` and `ask` run without",
        )
        return
    try:
        verify_bot_token(settings)
    except ConfigError as exc:
        message = str(exc)
        setting = "SLACK_API_URL" if "SLACK_API_URL" in message else "SLACK_BOT_TOKEN"
        report.fail(setting, message)
        return
    if settings.uses_socket_mode:
        report.line("Slack: SLACK_BOT_TOKEN works; Socket Mode with SLACK_APP_TOKEN.")
    elif settings.slack_signing_secret is None:
        report.fail(
            "SLACK_SIGNING_SECRET",
            "is required in HTTP mode (`serve`); set it, or SLACK_APP_TOKEN for `socket`",
        )
    else:
        report.line("Slack: SLACK_BOT_TOKEN works; HTTP mode with SLACK_SIGNING_SECRET.")
