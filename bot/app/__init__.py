"""The use cases: what the bot answers, finds and shows, whichever adapter (Slack, console) asks.

Each surface has its use case here, its listeners in `bot.slack` and its view in `bot.render`
under the same stem: `home` -> `slack/home_listeners.py` -> `render/home_view.py`.
"""
