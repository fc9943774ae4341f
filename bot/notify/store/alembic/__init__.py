"""Alembic's script directory for the store: `env.py` and one module per step in `versions/`.

`bot.notify.store.migrations` runs them at start; no alembic.ini is needed.
"""
