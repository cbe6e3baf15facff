import shutil
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


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "wavlink_core", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("template", ["{0:>50000000}", "{0.__class__.__mro__}", "{} {}", "{}{x}"])
def test_hostile_template_is_one_line_exit_2(ckpt, template):
    """A template is only ever filled at its one {}; the CLI refuses others before loading a model."""
    run = _run_cli("classify", DOG, "--model", ckpt, "--labels", "dog", "--template", template)
    assert run.returncode == 2
    assert run.stderr.startswith("error: template") and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stdout == ""


def test_embed_skips_bad_files_lists_them_and_writes_the_good(ckpt, tmp_path, capsys):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio\n" * 40)
    missing = str(tmp_path / "gone.mp3")
    out = tmp_path / "emb.npy"
    args = ["embed", DOG, str(bad), ROOSTER, missing, "--model", ckpt, "--dim", "8"]
    assert main([*args, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped 2 of 4 inputs:" in err
    assert f"  {bad}: cannot decode" in err and f"  {missing}: file not found" in err
    assert out.with_suffix(".txt").read_text().splitlines() == [DOG, ROOSTER]
    good = tmp_path / "good.npy"
    assert main(["embed", DOG, ROOSTER, "--model", ckpt, "--dim", "8", "--out", str(good)]) == 0
    np.testing.assert_allclose(np.load(out), np.load(good), atol=1e-6)


def test_embed_strict_stops_at_a_bad_file_and_writes_nothing(ckpt, tmp_path, capsys):
    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    out = tmp_path / "emb.npy"
    args = ["embed", DOG, str(bad), ROOSTER, "--model", ckpt, "--strict", "--out", str(out)]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()  # the progress bar, then the error
    assert lines[-1].startswith(f"error: {bad}: empty file") and "--strict" in lines[-1]
    assert sum("error" in line for line in lines) == 1 and not out.exists()


def test_embed_searches_folders_recursively(ckpt, tmp_path, capsys):
    root = tmp_path / "clips"
    (root / "b" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    shutil.copy(DOG, root / "z_dog.MP3")
    shutil.copy(ROOSTER, root / "b" / "deeper" / "rooster.mp3")
    (root / "b" / "readme.txt").write_text("not an audio file name: ignored")
    out = tmp_path / "emb"
    assert main(["embed", str(root), ROOSTER, "--model", ckpt, "--out", str(out)]) == 0
    rows = (tmp_path / "emb.txt").read_text().splitlines()
    assert rows == [str(root / "b" / "deeper" / "rooster.mp3"), str(root / "z_dog.MP3"), ROOSTER]
    emb = np.load(tmp_path / "emb.npy")
    assert emb.shape == (3, 32)
    np.testing.assert_allclose(emb[0], emb[2], atol=1e-6)
    capsys.readouterr()
    assert main(["embed", str(root / "empty"), "--model", ckpt, "--out", str(out)]) == 2
    assert "empty: folder holds no audio files (looked for .aac" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["embed", DOG, "--batch-size", "0"],
        ["embed", DOG, "--batch-size", "-3"],
        ["embed", DOG, "--batch-size", "two"],
        ["classify", DOG, "--labels", "a", "--top-k", "0"],
        ["classify", DOG, "--labels", "a", "--top-k", "-1"],
    ],
)
def test_counts_below_one_are_refused_by_the_parser(args, capsys):
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"must be a whole number >= 1, got '{args[-1]}'" in err and "Traceback" not in err


def test_real_faults_keep_their_traceback(ckpt, monkeypatch):
    from wavlink_core import cli

    def broken(args):
        raise RuntimeError("a bug, not the user's input")

    monkeypatch.setattr(cli, "_load", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["classify", DOG, "--model", ckpt, "--labels", "a, b"])
