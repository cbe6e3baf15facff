"""Standard benchmark layouts (ESC-50, UrbanSound8K, AudioCaps, Clotho, VGGSound): detection,
clips, protocol and the evaluation command end to end, on tiny generated copies of each layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wavlink_core.evaluation.datasets import detect_type, load_dataset

SR = 16000


def wav(path: Path, freq: float, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(0.5 * SR)) / SR
    noise = 0.01 * np.random.default_rng(seed).standard_normal(t.size)
    sf.write(path, (0.4 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32), SR)


def make_esc50(root: Path) -> Path:
    lines = ["filename,fold,target,category,esc10,src_file,take"]
    for fold in range(1, 6):
        for target, (cat, f) in enumerate((("dog", 300.0), ("chirping_birds", 4000.0))):
            for take in "AB":
                name = f"{fold}-{100 + fold * 10 + target}-{take}-{target}.wav"
                wav(root / "audio" / name, f + 20 * fold, seed=fold)
                lines.append(
                    f"{name},{fold},{target},{cat},False,{100 + fold * 10 + target},{take}"
                )
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    return root


def make_us8k(root: Path) -> Path:
    lines = ["slice_file_name,fsID,start,end,salience,fold,classID,class"]
    for fold in range(1, 11):
        for cid, (cls, f) in enumerate((("siren", 1500.0), ("drilling", 250.0))):
            name = f"{1000 + fold}-{cid}-0-0.wav"
            wav(root / "audio" / f"fold{fold}" / name, f + 10 * fold, seed=fold)
            lines.append(f"{name},{1000 + fold},0.0,0.5,1,{fold},{cid},{cls}")
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "UrbanSound8K.csv").write_text("\n".join(lines) + "\n")
    return root


def make_audiocaps_test(root: Path, n: int = 4, missing: int = 1) -> Path:
    lines = ["audiocap_id,youtube_id,start_time,caption"]
    for i in range(n):
        yid = f"vid{i}"
        if i < n - missing:
            wav(root / "audio" / f"{yid}_{10 * i}.wav", 300.0 * (i + 1), seed=i)
        lines += [f"{5 * i + j},{yid},{10 * i},caption {j} of clip {i}" for j in range(5)]
    (root / "test.csv").write_text("\n".join(lines) + "\n")
    return root


def make_clotho_eval(root: Path, n: int = 3) -> Path:
    lines = ["file_name,caption_1,caption_2,caption_3,caption_4,caption_5"]
    for i in range(n):
        wav(root / "evaluation" / f"sound {i}.wav", 400.0 * (i + 1), seed=i)
        lines.append(f"sound {i}.wav," + ",".join(f"clip {i} caption {j}" for j in range(5)))
    (root / "clotho_captions_evaluation.csv").write_text("\n".join(lines) + "\n")
    return root


def make_vggsound(root: Path) -> Path:
    rows = []
    for i, (label, f) in enumerate(
        (("dog barking", 500.0), ("playing violin, fiddle", 2000.0)) * 3
    ):
        yid, start = f"yt{i}", 30 + i
        rows.append(f'{yid},{start},"{label}",test')
        wav(root / "video" / f"{yid}_{start:06d}.wav", f, seed=i)
    rows.append('trainonly,10,"dog barking",train')
    (root / "vggsound.csv").write_text("\n".join(rows) + "\n")
    return root


def test_esc50_layout_and_protocol(tmp_path):
    root = make_esc50(tmp_path / "ESC-50-master")
    assert detect_type(root) == "esc50"
    ds = load_dataset(root)
    assert len(ds.clips) == 20 and ds.classes == ["chirping birds", "dog"]
    assert sorted({c.fold for c in ds.clips}) == [1, 2, 3, 4, 5] and not ds.probe_cv
    assert ds.clips[0].group == "110"


def test_urbansound8k_layout_and_protocol(tmp_path):
    root = make_us8k(tmp_path / "UrbanSound8K")
    assert detect_type(root) == "urbansound8k"
    ds = load_dataset(root)
    assert len(ds.clips) == 20 and ds.classes == ["drilling", "siren"] and ds.probe_cv
    assert ds.clips[0].path.parent.name == "fold1" and ds.clips[0].group == "1001"


def test_audiocaps_and_clotho_retrieval_sets(tmp_path):
    ac = make_audiocaps_test(tmp_path / "audiocaps")
    assert detect_type(ac) == "audiocaps" and detect_type(ac / "test.csv") == "audiocaps"
    ds = load_dataset(ac)
    assert len(ds.clips) == 3 and all(len(c.captions) == 5 for c in ds.clips)  # 1 missing clip
    cl = make_clotho_eval(tmp_path / "clotho")
    assert detect_type(cl) == "clotho"
    ds = load_dataset(cl)
    assert len(ds.clips) == 3 and ds.clips[0].captions[4] == "clip 0 caption 4"


def test_vggsound_test_rows(tmp_path):
    root = make_vggsound(tmp_path / "vgg")
    assert detect_type(root) == "vggsound"
    ds = load_dataset(root)
    assert len(ds.clips) == 6 and ds.classes == ["dog barking", "playing violin, fiddle"]
    (root / "video" / "yt0_000030.wav").unlink()
    assert len(load_dataset(root).clips) == 5  # a lost video is skipped, not fatal


def test_missing_audio_everywhere_is_refused(tmp_path):
    root = make_us8k(tmp_path / "u")
    for p in (root / "audio").rglob("*.wav"):
        p.unlink()
    with pytest.raises(ValueError, match=r"UrbanSound8K.csv: none of its 20 audio files"):
        load_dataset(root)
    with pytest.raises(ValueError, match=r"not the esc50 layout \(expected meta/esc50.csv"):
        load_dataset(root, "esc50")


@pytest.mark.parametrize(
    "make, kind, task, key",
    [
        (make_esc50, "esc50", "all", "probe"),
        (make_us8k, "urbansound8k", "probe", "probe"),
        (make_audiocaps_test, "audiocaps", "retrieval", "retrieval"),
        (make_vggsound, "vggsound", "zeroshot", "zeroshot"),
    ],
)
def test_evaluate_command_on_each_layout(make, kind, task, key, tmp_path, capsys):
    from wavlink_core.evaluate import main

    root = make(tmp_path / "set")
    out = tmp_path / "out"
    args = ["--model", "test", "--data", str(root), "--task", task, "--out", str(out)]
    assert main([*args, "--quiet", "--epochs", "5"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["data"]["type"] == kind
    assert key in res and (out / "results.md").is_file()
    if key == "probe":
        protocol = res["probe"]["protocol"]
        if make is make_esc50:
            assert protocol == "official folds: train 1,2,3,4 → test 5"
            assert list(res["zeroshot"]["levels"]) == ["32", "16", "8", "4"]
            assert res["zeroshot"]["levels"]["32"]["clips"] == 20  # zero-shot on every clip
        else:
            assert protocol == "10-fold cross-validation over the official folds"
    capsys.readouterr()
