"""Hypothesis strategies for the model, shared by the tests of every stored form."""

from __future__ import annotations

from datetime import UTC

from hypothesis import strategies as st

from bot.metakraftwerk.models import Release

# Any release the API parser can make: names stripped and never blank, dates in UTC.
releases = st.builds(
    Release,
    id=st.integers(),
    name=st.text(min_size=1).map(str.strip).filter(bool),
    group_id=st.none() | st.integers(),
    description=st.none() | st.text(),
    start_date=st.none() | st.datetimes(timezones=st.just(UTC)),
    end_date=st.none() | st.datetimes(timezones=st.just(UTC)),
    closed=st.booleans(),
    deleted=st.booleans(),
    hotfix_of_id=st.none() | st.integers(),
    prev_release_id=st.none() | st.integers(),
)
