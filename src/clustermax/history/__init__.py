"""The history database of audits (``clustermax history``, ``audit/score --history``, ``--baseline latest``).

    from clustermax.history import HistoryDB
    with HistoryDB.open(None, create=True) as db:        # default: an SQLite file in the data directory
        db.add(raw_bytes, bundle, score)                  # stored once by its sha256
        db.audits(cluster="h100-ndr")                     # newest first, with the newest score

SQLAlchemy Core for the SQL (one code path for SQLite and PostgreSQL) and Alembic for the schema's
migrations; both are imported only when a database is used. See docs/history.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing .db pulls SQLAlchemy in: keep `import clustermax.history` light
    from .db import Added, HistoryDB, HistoryError, Target

__all__ = ["Added", "HistoryDB", "HistoryError", "Target"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from . import db

        return getattr(db, name)
    raise AttributeError(name)
