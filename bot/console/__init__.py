"""The console: the bot's own handlers in a terminal, like Hubot's shell or Errbot's text mode.

`repl` reads and shows, `demo_edit` changes the demo API's data, `fake_slack` is the loopback
Slack the worker posts to, `session` sets up the services and runs `run_console` and `ask`.
"""

from bot.console.repl import Console
from bot.console.session import ask, run_console

__all__ = ["Console", "ask", "run_console"]
