"""Small per-process caches with a short time-to-live for what every ingest request reads but rarely changes.

Entries are keyed by the database URL (so two apps, the CLI and tests in one process share invalidations, and
two databases never mix) plus the caller's key. `invalidate` drops entries now and again when the session that
made the change commits; a read that started before an invalidation never stores its (possibly stale) value
(generation check). Other processes see a change within the cache's TTL at most.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

TTL_SECONDS = 2.0
_PENDING = "hotcache.pending"
_urls: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def database_key(session: Session) -> str:
    """The database URL of the session's bind without its driver (memoised per engine): two engines on the same
    database through different drivers (`postgresql://` and `postgresql+psycopg://`) share invalidations."""
    engine = session.get_bind()
    url = _urls.get(engine)
    if url is None:
        plain = engine.url.set(drivername=engine.url.get_backend_name())
        url = _urls[engine] = plain.render_as_string(hide_password=True)
    return url


class TTLCache:
    """A dict of (database, key) -> value that forgets entries after `ttl` seconds."""

    def __init__(self, name: str, ttl: float = TTL_SECONDS) -> None:
        self.name = name
        self.ttl = ttl
        self._data: dict[tuple[str, Hashable], tuple[float, Any]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get_or_load(self, session: Session, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of `key`, else `load()` (stored unless None or an invalidation happened meanwhile)."""
        full = (database_key(session), key)
        hit = self._data.get(full)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        value = load()
        with self._lock:
            if value is not None and generation == self._generation:
                if len(self._data) > 10_000:  # bounded: many databases or projects in one process
                    self._data.clear()
                self._data[full] = (now + self.ttl, value)
        return value

    def drop(self, database: str | None = None, key: Hashable | None = None) -> None:
        """Forget one key of one database, or everything (no arguments)."""
        with self._lock:
            self._generation += 1
            if database is None:
                self._data.clear()
            else:
                self._data.pop((database, key), None)


def invalidate(session: Session, cache: TTLCache, key: Hashable) -> None:
    """Forget `key` now and once more after `session` commits (the change is visible to other sessions then)."""
    database = database_key(session)
    cache.drop(database, key)
    pending = session.info.setdefault(_PENDING, set())
    pending.add((cache, database, key))
    if not session.info.get("hotcache.listening"):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_commit)
        session.info["hotcache.listening"] = True


def _after_commit(session: Session, *_args: Any) -> None:
    for cache, database, key in session.info.pop(_PENDING, ()):
        cache.drop(database, key)
