"""Sealed secrets open only with the keys, for the row and field they were sealed for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.secret_box import SecretBox, SecretError, context_of, key_id, new_key, valid_key

OLD, NEW = new_key(), new_key()
ROW_A = context_of("installations", "bot_token", "E0:T1")
ROW_B = context_of("installations", "bot_token", "E0:T2")


def test_a_sealed_secret_opens_for_its_row() -> None:
    box = SecretBox([NEW])
    token = box.seal("xoxb-secret", ROW_A)
    assert "xoxb-secret" not in token
    assert box.open(token, ROW_A) == "xoxb-secret"


def test_a_token_copied_into_another_row_does_not_open() -> None:
    box = SecretBox([NEW])
    token = box.seal("xoxb-secret", ROW_A)
    with pytest.raises(SecretError, match="another row"):
        box.open(token, ROW_B)
    with pytest.raises(SecretError, match="another row"):
        box.open(token, context_of("installations", "user_token", "E0:T1"))


def test_a_tampered_token_does_not_open() -> None:
    box = SecretBox([NEW])
    token = box.seal("xoxb-secret", ROW_A)
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    with pytest.raises(SecretError):
        box.open(flipped, ROW_A)
    with pytest.raises(SecretError):
        box.open("not a token ü", ROW_A)


def test_rotation_seals_with_the_first_key_and_opens_old_tokens() -> None:
    old_token = SecretBox([OLD]).seal("pw", ROW_A)
    box = SecretBox([NEW, OLD])
    assert box.open(old_token, ROW_A) == "pw"
    assert box.current_key_id == key_id(NEW)
    assert box.knows(key_id(OLD))
    assert not box.is_current(key_id(OLD))
    resealed = box.reseal(old_token, ROW_A)
    assert SecretBox([NEW]).open(resealed, ROW_A) == "pw"
    with pytest.raises(SecretError):
        SecretBox([OLD]).open(resealed, ROW_A)


def test_reseal_refuses_a_token_of_another_row() -> None:
    box = SecretBox([NEW, OLD])
    token = box.seal("pw", ROW_A)
    with pytest.raises(SecretError):
        box.reseal(token, ROW_B)


def test_no_key_no_box() -> None:
    with pytest.raises(SecretError, match="at least one"):
        SecretBox([])
    with pytest.raises(SecretError, match="key 2"):
        SecretBox([NEW, "short"])


def test_key_ids_are_stable_and_reveal_nothing() -> None:
    assert key_id(NEW) == key_id(NEW)
    assert key_id(NEW) != key_id(OLD)
    assert NEW[:8] not in key_id(NEW)


@pytest.mark.parametrize("key", ["", "abc", "a" * 44, "é" * 44])
def test_malformed_keys_are_refused(key: str) -> None:
    assert not valid_key(key)
    assert valid_key(new_key())


@given(st.text(max_size=300), st.text(max_size=50))
def test_any_text_round_trips(secret: str, row: str) -> None:
    box = SecretBox([NEW])
    context = context_of("connections", "password", row)
    assert box.open(box.seal(secret, context), context) == secret
