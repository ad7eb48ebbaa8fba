"""Snapshot directories: numbering, atomic publication, listing and manifests.

Layout: `<root>/<name>/v0001/` holding `manifest.json`, `index.tsv` and one folder per format. A snapshot is
built in a hidden temporary sibling (`.tmp-v0001-*`) and renamed into place only when every file is complete,
so a failed export leaves nothing that looks like a version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from feedback.services.datasets.errors import DatasetError

SCHEMA_VERSION = 1
_VERSION_DIR = re.compile(r"^v(\d{4,})$")


def code_version() -> str:
    """The installed feedback-loop package version (recorded in every manifest)."""
    try:
        return metadata.version("feedback-loop")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def version_dirname(version: int) -> str:
    """`v0001` for version 1."""
    return f"v{version:04d}"


def existing_versions(root: Path, name: str) -> list[int]:
    """Published version numbers of a dataset, ascending."""
    folder = Path(root) / name
    if not folder.is_dir():
        return []
    found = (_VERSION_DIR.match(p.name) for p in folder.iterdir() if p.is_dir())
    return sorted(int(m.group(1)) for m in found if m)


def prepare(root: Path, name: str, min_version: int = 1) -> tuple[int, Path]:
    """Reserve the next version number (at least `min_version`) and create its temporary build directory.

    Raises `DatasetError` when the export root cannot be created or written.
    """
    folder = Path(root) / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"no write permission on {folder}")
        version = max((existing_versions(root, name) or [0])[-1] + 1, min_version)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version_dirname(version)}-", dir=folder))
    except OSError as exc:
        raise DatasetError(f"export path {root} is not writable: {exc.strerror or exc}",
                           details={"path": str(root)}) from None
    return version, tmp


def publish(tmp: Path, root: Path, name: str, version: int) -> Path:
    """Rename the finished build directory to its version directory (atomic on one filesystem)."""
    final = Path(root) / name / version_dirname(version)
    try:
        os.rename(tmp, final)
    except OSError as exc:
        raise DatasetError(f"could not publish {final}: {exc.strerror or exc} (another export may have "
                           "taken this version number; retry)", details={"path": str(final)}) from None
    return final


def discard(tmp: Path) -> None:
    """Remove a temporary build directory and everything in it."""
    shutil.rmtree(tmp, ignore_errors=True)


STALE_BUILD_SECONDS = 6 * 3600  # far beyond any export (the export job's own timeout is one hour)


def discard_stale_builds(exports: Path, older_than: float = STALE_BUILD_SECONDS) -> list[Path]:
    """Remove build directories (`<exports>/<project>/<name>/.tmp-v*`) untouched for `older_than` seconds.

    A failed export removes its own build directory; one killed outright (out of memory, a lost machine) leaves
    it behind, with the rows it had written, which may include data erased since. Returns what was removed.
    """
    now = time.time()
    removed = []
    for build in sorted(Path(exports).glob("*/*/.tmp-v*")):
        try:
            stale = build.is_dir() and now - build.stat().st_mtime > older_than
        except OSError:  # removed meanwhile
            continue
        if stale:
            shutil.rmtree(build, ignore_errors=True)
            removed.append(build)
    return removed


def write_json(path: Path, data: Any) -> bytes:
    """Write deterministic, sorted, indented JSON; returns the bytes written."""
    payload = (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
    path.write_bytes(payload)
    return payload


def load_manifest(path: Path) -> dict[str, Any]:
    """Read a snapshot's manifest (path may be the snapshot directory or the manifest file)."""
    path = Path(path)
    manifest = path / "manifest.json" if path.is_dir() else path
    try:
        return json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is not a dataset snapshot: {exc}", details={"path": str(path)}) from None


def snapshot_path(root: Path, name: str, version: int | None = None) -> Path:
    """Directory of a version (the latest when `version` is None); `DatasetError` if it does not exist."""
    versions = existing_versions(root, name)
    if not versions or (version is not None and version not in versions):
        wanted = f"version {version}" if version is not None else "any version"
        raise DatasetError(f"dataset {name!r} has no {wanted} under {root}",
                           details={"name": name, "version": version, "available": versions})
    return Path(root) / name / version_dirname(version if version is not None else versions[-1])


def list_versions(root: Path, name: str | None = None) -> list[dict[str, Any]]:
    """Summaries of every published snapshot (all datasets, or one), ordered by name then version."""
    root = Path(root)
    names = [name] if name else sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    out = []
    for dataset in names:
        for version in existing_versions(root, dataset):
            manifest = load_manifest(root / dataset / version_dirname(version))
            out.append({"name": dataset, "version": version, "path": str(root / dataset / version_dirname(version)),
                        "formats": manifest.get("params", {}).get("formats", []),
                        "rows": manifest.get("counts", {}).get("rows", 0),
                        "fingerprint": manifest.get("fingerprint")})
    return out
