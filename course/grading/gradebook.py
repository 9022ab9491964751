"""The gradebook: nbgrader's SQLite database in the course folder, and its lock (SQLite wants one
writer at a time; nbgrader's rows have random ids, so rows are never copied between gradebooks)."""

import fcntl
from contextlib import contextmanager
from pathlib import Path


def gradebook_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def gradebook_lock_path(db_url: str) -> Path | None:
    """The lock file beside an SQLite gradebook (None for a database server, which has its own)."""
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):] + ".lock") if db_url.startswith(prefix) else None


@contextmanager
def gradebook_lock(db_url: str):
    """Hold the gradebook's lock: SQLite wants one writer at a time."""
    path = gradebook_lock_path(db_url)
    if path is None:
        yield
        return
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
