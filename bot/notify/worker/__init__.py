"""The notification worker: a short round (`round`) over lease keeping (`lease`), change
detection (`detection`, with the glitch rules in `glitch`), due digests (`digest_round`) and
delivery (`delivery`, with Slack's errors read in `slack_errors`)."""

from bot.notify.worker.glitch import glitch_reason
from bot.notify.worker.lease import LEASE_NAME
from bot.notify.worker.round import PollReport, Worker

__all__ = ["LEASE_NAME", "PollReport", "Worker", "glitch_reason"]
