"""Trained models by name: `wavlink-tiny` from a clone and from a pip install elsewhere."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from wavlink_core import CheckpointError, load_pretrained
from wavlink_core.checkpoint import model_names, shipped_model_dir
from wavlink_core.cli import default_model, model_dir

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "assets" / "wavlink-tiny"
needs_weights = pytest.mark.skipif(
    not (SHIPPED / "config.json").is_file(), reason="no trained model in assets/"
)


@needs_weights
def test_shipped_name_finds_the_trained_model_in_the_clone(monkeypatch):
    monkeypatch.delenv("WAVLINK_MODEL", raising=False)
    assert shipped_model_dir("wavlink-tiny") == SHIPPED
    assert default_model() == "wavlink-tiny" and model_dir("wavlink-tiny") == SHIPPED
    assert model_names()[:2] == ["wavlink-tiny", "wavlink-tiny-aut"]
    assert "tiny-untrained" in model_names()


def test_untrained_presets_say_so_by_name_and_in_the_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="wavlink_core.checkpoint"):
        model = load_pretrained("test-untrained")
    assert not model.is_trained and model.config.name == "wavlink-test"
    assert "untrained preset" in caplog.text and "RANDOM" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wavlink_core.checkpoint"):
        old = load_pretrained("test")  # the old spelling still loads, with the same warning
    assert "untrained preset" in caplog.text
    for a, b in zip(model.state_dict().values(), old.state_dict().values(), strict=True):
        assert (a == b).all()  # seeded: the same random heads either way


def test_a_bad_name_lists_the_names_that_work(tmp_path):
    with pytest.raises(CheckpointError, match="tiny-untrained"):
        load_pretrained(str(tmp_path / "wavlink-tinny"))


@needs_weights
@pytest.mark.slow
def test_pip_install_ships_the_weights_and_loads_them_outside_the_clone(tmp_path):
    """`pip install` of the project (here of a copy of its files, as from a clone or git URL)
    into a throwaway venv, then `from_pretrained("wavlink-tiny")` from an unrelated folder."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "wavlink_core", "demo"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, src / name)
    for name in ("wavlink-tiny", "wavlink-tiny-aut"):
        shutil.copytree(ROOT / "assets" / name, src / "assets" / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # The test venv's packages (torch, pip, setuptools...) stay visible, as --system-site-packages
    # would make them for a venv made from the system Python.
    site = Path(
        subprocess.check_output(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            text=True,
        ).strip()
    )
    (site / "parent.pth").write_text(sysconfig.get_path("purelib") + "\n")
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run(pip + [str(src)], check=True, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import wavlink_core, pathlib; from wavlink_core import WavLink; "
        "m = WavLink.from_pretrained('wavlink-tiny'); "
        "from wavlink_core.checkpoint import shipped_model_dir as s; "
        "print(pathlib.Path(wavlink_core.__file__).parent.parent, s('wavlink-tiny'), m.is_trained, m.matryoshka_dims)"
    )
    env = {**os.environ, "PYTHONPATH": ""}
    out = subprocess.run([py, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    pkg_root, found, trained, dims = out.stdout.split(maxsplit=3)
    assert Path(pkg_root) == site  # the installed package, not this clone
    assert Path(found) == venv / "share" / "wavlink" / "wavlink-tiny"
    assert trained == "True" and dims.strip() == "(256, 128, 64, 32)"
