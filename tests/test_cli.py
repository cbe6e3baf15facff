import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wavlink_core import save_pretrained
from wavlink_core.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
DOG, ROOSTER = str(EXAMPLES / "dog_barking.mp3"), str(EXAMPLES / "rooster.mp3")


@pytest.fixture(scope="module")
def ckpt(test_model, tmp_path_factory):
    return str(save_pretrained(test_model, tmp_path_factory.mktemp("ckpt")))


def test_embed_writes_rows_in_argument_order(ckpt, tmp_path, capsys):
    out = tmp_path / "emb.npy"
    assert main(["embed", DOG, ROOSTER, DOG, "--model", ckpt, "--dim", "8", "--out", str(out)]) == 0
    emb = np.load(out)
    assert emb.shape == (3, 8)
    np.testing.assert_allclose(emb[0], emb[2], atol=1e-6)
    assert out.with_suffix(".txt").read_text().splitlines() == [DOG, ROOSTER, DOG]
    assert "3 embeddings of size 8" in capsys.readouterr().out


def test_classify_says_when_weights_are_untrained(ckpt, capsys):
    assert main(["classify", DOG, "--model", ckpt, "--labels", "dog, rain, siren"]) == 0
    out, err = capsys.readouterr()
    assert "untrained" in err
    assert {"dog", "rain", "siren"} <= set(out.split())


def test_errors_are_one_line_and_exit_2(ckpt, tmp_path, capsys):
    assert main(["classify", DOG, "--model", ckpt, "--labels", "a,b", "--dim", "7"]) == 2
    assert "dim=7 is not a trained size" in capsys.readouterr().err
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert main(["embed", str(empty), "--model", ckpt, "--out", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert "empty.wav" in err and "Traceback" not in err


def test_module_entry_point_runs(ckpt):
    run = subprocess.run(
        [sys.executable, "-m", "wavlink_core", "info", "--model", ckpt],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "trained Matryoshka sizes: (32, 16, 8, 4)" in run.stdout
    assert "tiny.en" in run.stdout


def test_export_float16_reports_embedding_change(ckpt, tmp_path, capsys):
    """The float16 export is half the size, reloads, and its measured cosine to the source is printed;
    an impossible threshold turns the measurement into a failure (exit 3)."""
    out = tmp_path / "fp16"
    assert main(["export", "--model", ckpt, "--out", str(out), "--check", DOG, ROOSTER]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if line.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows] == [32, 16, 8, 4]
    assert all(0.999 <= float(r[1]) <= 1.0 for r in rows), text
    size = lambda d: (Path(d) / "model.safetensors").stat().st_size  # noqa: E731
    assert size(out) < 0.6 * size(ckpt)
    again = tmp_path / "again"
    args = ["export", "--model", ckpt, "--out", str(again), "--check", DOG, "--min-cosine", "1.01"]
    assert main(args) == 3
