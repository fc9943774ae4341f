"""State shared by every process through Redis (`CACHE_URL`): the API cache and the replay guard.

Each part falls back to this process's own memory while Redis is unreachable, so answers keep
coming; see link.py for how that is noticed, logged once and recovered from.
"""
