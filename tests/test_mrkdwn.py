"""Foreign text set inside our lines: escaped, on one line, formatting nothing, within limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.mrkdwn import ZWSP, escape, inline, inline_truncated
from tests.render.limits import assert_inert

SPICY = st.sampled_from(["*", "_", "~", "`", "\n", " ", "\t", "&", "<", ">", "a", "Ü", ZWSP, "…"])
TEXT = st.lists(st.one_of(SPICY, st.text(max_size=8)), max_size=30).map("".join)


@given(TEXT, st.integers(min_value=2, max_value=120))
def test_inline_text_formats_nothing_and_fits(text: str, limit: int) -> None:
    shown = inline_truncated(text, limit)
    assert len(shown) <= limit
    assert_inert(shown)
    assert "<" not in shown
    assert ">" not in shown
    if len(inline(text)) <= limit:
        assert shown == inline(text)


def test_a_word_keeps_its_inner_underscores_and_text_reads_the_same() -> None:
    assert inline("DWH_GROUP") == "DWH_GROUP"
    assert inline("R59 *hot*\nfix").replace(ZWSP, "") == "R59 *hot* fix"
    assert inline("a `b` & <c>") == escape("a ˋbˋ & <c>")


def test_a_cut_never_leaves_a_marker_that_can_close() -> None:
    shown = inline_truncated("x *" + "y" * 50, 5)
    assert shown.endswith("…")
    assert_inert(shown)
