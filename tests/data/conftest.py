"""Fixtures of the data tests (the builders are in ``data_fixtures.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import make_shards


@pytest.fixture
def shards(tmp_path) -> Path:
    return make_shards(tmp_path / "shards", 4, 6)
