"""Download packages into the work dir with the registries' own clients; resumable.

A package counts as fetched when its archive is already in the download folder, so a second
build run downloads nothing.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from pathlib import Path

from wavlink_core.errors import ConfigError, WavLinkError

log = logging.getLogger(__name__)

_APT_UPDATED = False


class FetchError(WavLinkError):
    """A package could not be downloaded; the message names the package and the client's output."""


def _pip_stem(name: str) -> str:
    # Wheels and sdists normalise '-' and '.' to '_' in file names.
    return re.sub(r"[-_.]+", "_", name).lower()


def find_archive(name: str, registry: str, work: Path) -> Path | None:
    """Return the already downloaded archive of a package, or None.

    Args:
        name: Package name.
        registry: ``"apt"`` or ``"pip"``.
        work: Work directory holding ``debs/`` and ``pip/``.
    """
    if registry == "apt":
        hits = sorted((work / "debs").glob(f"{name}_*.deb"))
    elif registry == "pip":
        stem = _pip_stem(name)
        hits = sorted(
            p
            for p in (work / "pip").glob("*")
            if _pip_stem(p.name).startswith(stem + "_") and p.suffix in (".whl", ".gz", ".zip")
        )
    else:
        raise ConfigError(f"unknown registry {registry!r}; valid: 'apt', 'pip'")
    return hits[-1] if hits else None


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(["nice", "-n", "19", *cmd], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise FetchError(
            f"{' '.join(cmd)} failed (rc={proc.returncode}): {proc.stderr.strip()[-800:]}"
        )
    return proc.stdout


def fetch(name: str, registry: str, work: Path, *, python: str = "python3") -> Path:
    """Download one package unless it is already there.

    apt: runs ``apt-get update`` once per process (only when a download is needed), then
    ``apt-get download`` in a temporary folder that is renamed into place, so an interrupted
    download never leaves a half file that would count as done.

    Args:
        name: Package name.
        registry: ``"apt"`` or ``"pip"``.
        work: Work directory.
        python: Interpreter whose pip is used for PyPI packages.

    Returns:
        Path of the downloaded archive.

    Raises:
        FetchError: if the client fails.
    """
    global _APT_UPDATED
    found = find_archive(name, registry, work)
    if found is not None:
        return found
    sub = work / ("debs" if registry == "apt" else "pip")
    sub.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=sub, prefix=".partial-") as tmp:
        tmpdir = Path(tmp)
        if registry == "apt":
            if not _APT_UPDATED:
                try:
                    _run(["apt-get", "update", "-q"], tmpdir)
                except FetchError as err:  # may lack root; a stale index often still works
                    log.warning("apt-get update failed, trying the existing index: %s", err)
                _APT_UPDATED = True
            _run(["apt-get", "download", "-q", name], tmpdir)
        else:
            _run(
                [python, "-m", "pip", "download", "-q", "--no-deps", "-d", str(tmpdir), name],
                tmpdir,
            )
        files = [p for p in tmpdir.iterdir() if p.is_file()]
        if len(files) != 1:
            raise FetchError(f"expected one archive for {name!r}, got {[p.name for p in files]}")
        dest = sub / files[0].name
        files[0].replace(dest)
    log.info("fetched %s (%.1f MB)", dest.name, dest.stat().st_size / 1e6)
    return dest
