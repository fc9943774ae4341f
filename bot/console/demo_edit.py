"""The console's demo-data commands (`:close R60` and friends) on the built-in demo API."""

from __future__ import annotations

from bot.demo.data import DemoData, DemoDataError
from bot.metakraftwerk.models import parse_datetime

DEMO_VERBS = frozenset({":close", ":open", ":reopen", ":delete", ":rename", ":dates", ":add"})


def edit_demo_data(data: DemoData, verb: str, args: list[str]) -> tuple[str, bool]:
    """Apply one demo-data command; (what to print, whether the data changed)."""
    try:
        if verb in (":close", ":open", ":reopen", ":delete") and len(args) == 1:
            ref = _ref(args[0])
            release = {
                ":close": data.close,
                ":open": data.open,
                ":reopen": data.open,
                ":delete": data.delete,
            }[verb](ref)
        elif verb == ":rename" and len(args) == 2:
            release = data.rename(_ref(args[0]), args[1])
        elif verb == ":dates" and len(args) == 3:
            start, end = parse_datetime(args[1]), parse_datetime(args[2])
            if start is None or end is None:
                return "Dates are YYYY-MM-DD, e.g. :dates R60 2026-12-01 2026-12-24", False
            release = data.set_dates(_ref(args[0]), start=start, end=end)
            return (
                f"(demo data: {release.name} #{release.id} now runs "
                f"{start:%Y-%m-%d} to {end:%Y-%m-%d})",
                True,
            )
        elif verb == ":add" and len(args) == 2:
            release = data.add(args[1], args[0])  # `:add GROUP NAME`, as :help shows
        else:
            return f"Usage: see :help for {verb}.", False
    except (DemoDataError, LookupError, ValueError, TypeError) as exc:
        return f"Could not change the demo data: {exc}", False
    state = "deleted" if release.deleted else ("closed" if release.closed else "open")
    return f"(demo data: {release.name} #{release.id} is now {state})", True


def _ref(text: str) -> int | str:
    cleaned = text.lstrip("#")
    return int(cleaned) if cleaned.isdigit() else text
