"""`releases-bot keys`: make a key for SECRET_KEYS, and move sealed secrets onto the first key.

`keys new` needs no settings (the key comes before the configuration that holds it) and prints
the key alone, so `releases-bot keys new > key` or `$(releases-bot keys new)` capture nothing
else. `keys rotate` re-seals every stored secret not yet on the first key of SECRET_KEYS.
"""

from __future__ import annotations

from typing import TextIO

from bot.secret_box import new_key


def print_new_key(out: TextIO) -> int:
    out.write(new_key() + "\n")
    return 0
