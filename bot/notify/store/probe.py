"""A read-only look at DATABASE_URL for `releases-bot check`: can we connect, which schema?

It never creates or migrates anything: a SQLite file that does not exist yet is reported as
such (the first start creates it), so checking leaves no trace behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.notify.store.engine import create_store_engine, normalize_database_url
from bot.notify.store.migrations import current_version, head_version
from bot.notify.store.trouble import describe_trouble


class ProbeFailed(RuntimeError):
    """The database cannot be used; the message is one line without the URL's password."""


@dataclass(frozen=True, slots=True)
class DatabaseState:
    version: int  # 0: no schema yet
    expected: int = field(default_factory=head_version)
    missing_file: bool = False  # SQLite: the file does not exist yet


def probe_database(database_url: str) -> DatabaseState:
    """Connect and read the schema version (raises ProbeFailed)."""
    try:
        url = normalize_database_url(database_url)
    except (ValueError, SQLAlchemyError) as exc:
        raise ProbeFailed(str(exc).splitlines()[0]) from None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(str(url.database))
        if not path.exists():
            if not path.parent.is_dir():
                raise ProbeFailed(f"the directory {str(path.parent)!r} does not exist")
            return DatabaseState(version=0, missing_file=True)
    engine = create_store_engine(database_url)
    try:
        with engine.connect() as conn:
            version = current_version(conn)
    except SQLAlchemyError as exc:
        raise ProbeFailed(f"cannot connect: {describe_trouble(exc)}") from None
    except RuntimeError as exc:  # a revision this release has never heard of
        raise ProbeFailed(f"{exc}; run the release that made it") from None
    finally:
        engine.dispose()
    if version > head_version():
        raise ProbeFailed(
            f"its schema is version {version}, newer than this release of the bot knows "
            f"({head_version()}); run the newer release"
        )
    return DatabaseState(version=version)
