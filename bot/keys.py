"""`releases-bot keys`: make a key for SECRET_KEYS, and move sealed secrets onto the first key.

`keys new` needs no settings (the key comes before the configuration that holds it) and prints
the key alone, so `releases-bot keys new > key` or `$(releases-bot keys new)` capture nothing
else. `keys rotate` re-seals every stored secret not yet on the first key of SECRET_KEYS, in
batches that each commit, so it can be stopped and run again at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from bot.config import ConfigError, Settings, redact_url
from bot.notify.store.engine import create_store_engine
from bot.notify.store.probe import ProbeFailed, probe_database
from bot.notify.store.rotation import DEFAULT_BATCH, FieldRotation, rotate_sealed
from bot.notify.store.sealed_fields import SEALED_FIELDS, SealedField
from bot.notify.store.trouble import StoreUnavailable
from bot.secret_box import SecretBox, SecretError, new_key


def print_new_key(out: TextIO) -> int:
    out.write(new_key() + "\n")
    return 0


def rotate_keys(
    settings: Settings,
    out: TextIO,
    *,
    fields: Sequence[SealedField] = SEALED_FIELDS,
    batch: int = DEFAULT_BATCH,
) -> int:
    """Re-seal onto the first key; 0 when every value is on it, 1 when some are not (each
    named), ConfigError when the keys or the database cannot be used at all."""
    if not settings.secret_keys:
        raise ConfigError("SECRET_KEYS is not set: there is no key to re-seal the secrets with")
    try:
        box = SecretBox([key.value for key in settings.secret_keys])
    except SecretError as exc:
        raise ConfigError(str(exc)) from None
    shown = redact_url(settings.database_url)
    try:
        state = probe_database(settings.database_url)
    except ProbeFailed as exc:
        raise ConfigError(f"DATABASE_URL {shown}: {exc}") from None
    if state.version != state.expected:
        raise ConfigError(
            f"DATABASE_URL {shown} is at schema version {state.version}, this release at "
            f"{state.expected}: start this release's `serve` or `worker` once (it migrates), "
            "then rotate"
        )

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    say(f"Re-sealing onto key {box.current_key_id} (the first of SECRET_KEYS), "
        f"{batch} rows a batch.")
    engine = create_store_engine(settings.database_url)
    try:
        results = rotate_sealed(engine, box, fields, batch=batch, progress=say)
    except StoreUnavailable as exc:
        say(f"keys rotate stopped: the database is unavailable ({exc}); the batches done "
            "are kept, run it again")
        return 1
    finally:
        engine.dispose()
    for result in results:
        say(_summary(result))
    left = sum(result.remaining for result in results)
    if not left:
        say(f"Done: every sealed value is on key {box.current_key_id}.")
        return 0
    say(f"Not done: {left} value(s) still on an old key; the old keys must stay in SECRET_KEYS.")
    return 1


def _summary(result: FieldRotation) -> str:
    parts = [f"{result.resealed} re-sealed"]
    if result.unopenable:
        parts.append(f"{len(result.unopenable)} open with no key (left as they are)")
    locked = result.remaining - len(result.unopenable)
    if locked > 0:
        parts.append(f"{locked} busy or written meanwhile (run again)")
    if not result.remaining:
        parts.append("all on the first key")
    return f"{result.field}: " + ", ".join(parts) + "."
