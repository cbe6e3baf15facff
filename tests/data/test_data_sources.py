"""Training data sources: kind detection, each layout's rows, mixing weights, refusals, and a
training step from every kind and from a mixture (random-weight ``test`` preset, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import make_audiocaps, make_class_folders, make_clotho, make_hf, write_wav

from wavlink_core.data.sources import detect_kind, parse_sources
from wavlink_core.errors import ConfigError
from wavlink_core.training import TrainConfig


def cfg(out: Path, **kw) -> TrainConfig:
    base = dict(
        model="test",
        batch_size=4,
        clip_seconds=1.0,
        lr=1e-3,
        output_dir=str(out),
        progress=False,
        regime="projector",
        min_clips=4,
    )
    return TrainConfig(**{**base, **kw})


def test_detect_kind_of_every_layout(tmp_path, shards):
    assert detect_kind(str(make_class_folders(tmp_path / "folders"))) == "folder"
    assert detect_kind(str(make_clotho(tmp_path / "clotho"))) == "table"
    assert detect_kind(str(shards)) == "shards"
    assert detect_kind(str(shards / "shard-000000.tar")) == "shards"
    assert detect_kind(str(shards) + "/shard-{000000..000003}.tar") == "shards"
    assert detect_kind("s3://bucket/shards-{000000..000099}.tar") == "shards"
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "manifest.jsonl").write_text("")
    assert detect_kind(str(tmp_path / "corpus")) == "corpus"
    (tmp_path / "af").mkdir()
    (tmp_path / "af" / "metadata.csv").write_text("file_name,caption\n")
    assert detect_kind(str(tmp_path / "af")) == "table"


def test_unknown_source_names_the_path_and_the_kinds(tmp_path):
    with pytest.raises(ConfigError, match=r"no such file.*accepted: a corpus folder"):
        detect_kind(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"empty: cannot tell what it is; expected .*shards"):
        detect_kind(str(tmp_path / "empty"))
    (tmp_path / "x.mp4").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"x.mp4: a .mp4 file is not a table"):
        detect_kind(str(tmp_path / "x.mp4"))
    with pytest.raises(ConfigError, match="2 values for 1 sources"):
        parse_sources((str(tmp_path / "x.mp4"),), (1.0, 2.0))


def test_table_layouts(tmp_path):
    from wavlink_core.data.tables import read_table

    clotho = read_table(make_clotho(tmp_path / "clotho"), cfg(tmp_path))
    assert len(clotho) == 12 and all(len(r["captions"]) == 5 for r in clotho)
    assert all(Path(r["path"]).parent.name == "development" for r in clotho)
    caps = read_table(make_audiocaps(tmp_path / "ac", n=12, missing=2), cfg(tmp_path))
    assert len(caps) == 10  # two clips have no audio: skipped, not fatal
    assert all(len(r["captions"]) == 2 for r in caps)  # the two lines of a clip merged
    jl = tmp_path / "jl" / "pairs.jsonl"
    write_wav(jl.parent / "a.wav", 200.0)
    jl.write_text(json.dumps({"file": "a.wav", "description": "low hum", "split": "val"}) + "\n")
    with pytest.raises(ConfigError, match=r"pairs.jsonl:1: no caption; .*--caption_column"):
        read_table(jl, cfg(tmp_path))
    rows = read_table(jl, cfg(tmp_path, caption_column="description"))
    assert rows == [
        {"path": str((jl.parent / "a.wav").resolve()), "captions": ["low hum"], "split": "val"}
    ]
    none = tmp_path / "none.csv"
    none.write_text("file,caption\nmissing.wav,x\n")
    with pytest.raises(ConfigError, match=r"none of its 1 audio files was found .*--audio_dir"):
        read_table(none, cfg(tmp_path))


def test_class_folder_captions_use_the_template(tmp_path):
    from wavlink_core.data.tables import read_class_folders

    rows = read_class_folders(make_class_folders(tmp_path / "f", 2), "the sound of {}!")
    assert sorted({r["captions"][0] for r in rows}) == [
        "the sound of car horn!",
        "the sound of dog bark!",
        "the sound of rain!",
    ]
    with pytest.raises(ConfigError, match="folder_template"):
        cfg(tmp_path, folder_template="{label} sound")


def test_hf_dataset_rows_decode_without_torchcodec(tmp_path):
    from wavlink_core.audio import load_audio
    from wavlink_core.data.sources import Source, load_rows, read_wave

    folder = make_hf(tmp_path)
    assert detect_kind(str(folder)) == "hf"
    rows = load_rows(Source(str(folder), "hf"), 0, cfg(tmp_path))
    assert [r["captions"] for r in rows][:2] == [["a tone at 200 hertz"], ["a tone at 800 hertz"]]
    got = read_wave(rows[3], Path("/"))
    want = load_audio(str(tmp_path / "src" / "3.wav"))
    np.testing.assert_allclose(got, want, atol=1e-6)
    with pytest.raises(ConfigError, match=r"no caption column .*--caption_column"):
        load_rows(Source(str(folder), "hf"), 0, cfg(tmp_path, caption_column="label"))


def test_mixing_weights_set_draws_per_epoch(tmp_path):
    from wavlink_core.training import data as D

    a, b = make_class_folders(tmp_path / "a", 4), make_clotho(tmp_path / "b", 12)
    c = cfg(tmp_path, data=(str(a), str(b)), data_weights=(2.0, 0.5), val_fraction=0.0)
    sources = parse_sources(c.data, c.data_weights)
    splits = D.load_splits(c, sources)
    assert splits.sizes()["train_clips_per_source"] == [12, 12]
    sampler = D.EpochSampler(splits.train, seed=0, source_weights=(2.0, 0.5))
    keys = list(sampler)
    per_source = [sum(splits.train[i]["source"] == s for i, _, _ in keys) for s in (0, 1)]
    assert per_source == [24, 6] and len(sampler) == 30
    drawn = [i for i, _, _ in keys if splits.train[i]["source"] == 0]
    assert sorted(set(drawn)) == [i for i, r in enumerate(splits.train) if r["source"] == 0]


def test_too_small_source_is_refused_with_its_count(tmp_path):
    from wavlink_core.training import data as D

    folder = make_class_folders(tmp_path / "f", 2)
    with pytest.raises(ConfigError, match=r"f \(folder\) holds 6 clips; at least min_clips=16"):
        D.load_splits(cfg(tmp_path, data=(str(folder),), min_clips=16))


def test_holdout_is_seeded_and_disjoint(tmp_path):
    from wavlink_core.training import data as D

    c = cfg(tmp_path, data=(str(make_clotho(tmp_path / "c", 20)),), val_fraction=0.1)
    s1, s2 = D.load_splits(c), D.load_splits(c)
    assert len(s1.val) == 2 and len(s1.train) == 18
    assert [r["path"] for r in s1.val] == [r["path"] for r in s2.val]
    assert not {r["path"] for r in s1.val} & {r["path"] for r in s1.train}


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind", ["folder", "table", "hf", "hfstream", "shards", "mixture", "streamed mixture"]
)
def test_training_runs_from_each_kind(kind, tmp_path, shards):
    from wavlink_core.training.engine import train

    data = {
        "folder": lambda: [make_class_folders(tmp_path / "f", 3)],
        "table": lambda: [make_audiocaps(tmp_path / "ac", 10, 1)],
        "hf": lambda: [make_hf(tmp_path, 9)],
        "hfstream": lambda: [f"hf+stream:{make_hf(tmp_path, 9)}"],
        "shards": lambda: [shards],
        "mixture": lambda: [make_class_folders(tmp_path / "f", 3), make_clotho(tmp_path / "c")],
        "streamed mixture": lambda: [
            shards,
            make_clotho(tmp_path / "c"),
            f"hf+stream:{make_hf(tmp_path, 9)}",
        ],
    }[kind]()
    weights = {"mixture": (1.0, 2.0), "streamed mixture": (0.5, 1.0, 1.0)}.get(kind, ())
    c = cfg(
        tmp_path / "run",
        data=tuple(map(str, data)),
        data_weights=weights,
        max_steps=2,
        val_data=(str(make_clotho(tmp_path / "val", 4)),),
    )
    out = train(c)
    assert out["step"] == 2 and not out["halted"]
    info = json.loads((Path(out["model_dir"]) / "config.json").read_text())["training"]
    assert [s["kind"] for s in info["data"]["sources"]] == {
        "mixture": ["folder", "table"],
        "streamed mixture": ["shards", "table", "hfstream"],
    }.get(kind, [kind])
    assert out["val"]["val_clips"] == 4
    assert np.isfinite(out["val"]["val_loss"])


@pytest.mark.slow
def test_cpu_finetune_of_a_checkpoint_on_a_small_folder(tmp_path, capsys):
    """--init_from on CPU: heads-only defaults for the keys not given; a folder with too few
    clips is refused with the count it found."""
    from wavlink_core import PRESETS, WavLink
    from wavlink_core.checkpoint import save_pretrained
    from wavlink_core.training.__main__ import main

    ckpt = tmp_path / "ckpt"
    save_pretrained(WavLink(PRESETS["test"]), ckpt, delta=False)
    folder = make_class_folders(tmp_path / "mine", 6)
    run = tmp_path / "run"
    args = [f"--init_from={ckpt}", f"--data={folder}", f"--output_dir={run}", "--progress=false"]
    assert main([*args, "--clip_seconds=1", "--epochs=2"]) == 0
    saved = json.loads((run / "train_config.json").read_text())
    assert saved["regime"] == "projector" and saved["train_global_token"] is False
    assert saved["lr"] == 1e-3 and saved["epochs"] == 2  # given keys win
    capsys.readouterr()
    small = make_class_folders(tmp_path / "few", 2)
    assert main([f"--init_from={ckpt}", f"--data={small}", f"--output_dir={tmp_path / 'r2'}"]) == 2
    assert "holds 6 clips; at least min_clips=16" in capsys.readouterr().err


def test_a_bad_file_in_training_is_replaced_not_fatal(tmp_path, caplog):
    from wavlink_core.training import data as D

    folder = make_class_folders(tmp_path / "f", 2)
    bad = folder / "Rain" / "0.wav"
    bad.write_bytes(b"RIFF not really a wav file")
    c = cfg(tmp_path, data=(str(folder),), val_fraction=0.0)
    splits = D.load_splits(c)
    i = next(k for k, r in enumerate(splits.train) if r["path"] == str(bad.resolve()))
    ds = D.ClipDataset(splits.train, splits, c, train=True)
    item = ds[(i, 0, 0)]
    assert item["key"] != str(bad.resolve()) and item["wave"].size > 0
    assert item["caption"] == splits.train[item["clip"]]["captions"][0]  # its own caption
    assert "0.wav" in caplog.text and "in its place" in caplog.text
    val = D.ClipDataset(splits.train, splits, c, train=False)
    with pytest.raises(Exception, match="0.wav"):
        val[(i, 0, 0)]
