"""The floor: a bare Bolt app that acks `/releases` and answers a fixed message with respond().

It runs under the very server function the bot's `serve` command uses (bot/server.py), with the
same settings, so the comparison measures the bot's own work and nothing about the server.
Run: `python -m bench.bare_bolt` with PORT, SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.server import serve

COMMAND = "/releases"


def serve_wsgi(load: Callable[[], Any], *, port: int) -> None:
    """The one place that knows the server entry point's signature; as `releases-bot serve` calls
    it (bot/__main__.py), so both run with the same threads and limits."""
    workers = int(os.environ.get("WEB_CONCURRENCY", "1") or 1)
    serve(load, port=port, workers=workers)


def build_app(*, signing_secret: str, token: str, slack_api_url: str) -> App:
    app = App(signing_secret=signing_secret, client=WebClient(token=token, base_url=slack_api_url))

    @app.command(COMMAND)
    def on_command(ack: Ack, respond: Respond) -> None:
        ack()
        respond(**FOUR_RELEASES, response_type="ephemeral", replace_original=False)

    return app


def _release(emoji: str, name: str, start: int, end: int, release_id: int) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": (
                f":{emoji}: *{name}* · DWH_GROUP · <!date^{start}^{{date_short_pretty}}|{start}>"
                f" → <!date^{end}^{{date_short_pretty}}|{end}>"
            ),
            "verbatim": True,
        },
        "accessory": {
            "type": "button",
            "text": {"type": "plain_text", "text": "Details", "emoji": True},
            "action_id": f"release_detail:{release_id}",
            "value": str(release_id),
        },
    }


FOUR_RELEASES: dict[str, Any] = {
    "text": "Open releases · DWH_GROUP: 4: R61, R60, R59, READY_FOR_QA",
    "blocks": [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": "Open releases · DWH_GROUP · 4", "emoji": True},
        },
        _release("large_green_circle", "R61", 1796940000, 1799532000, 63),
        _release("large_green_circle", "R60", 1795903200, 1798236000, 60),
        _release("large_green_circle", "R59", 1794866400, 1796335200, 59),
        _release("large_green_circle", "READY_FOR_QA", 1793484000, 1799532000, 62),
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "Filters: open · group DWH_GROUP", "verbatim": True},
                {"type": "mrkdwn", "text": "4 releases", "verbatim": True},
            ],
        },
    ],
}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)

    def load() -> SlackRequestHandler:
        # Built inside the server's worker, as the bot builds its app.
        app = build_app(
            signing_secret=os.environ["SLACK_SIGNING_SECRET"],
            token=os.environ["SLACK_BOT_TOKEN"],
            slack_api_url=os.environ["SLACK_API_URL"],
        )
        return SlackRequestHandler(app)

    serve_wsgi(load, port=int(os.environ["PORT"]))


if __name__ == "__main__":
    main()
