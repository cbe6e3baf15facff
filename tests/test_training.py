"""Training: config parsing, regimes, feature cache, checkpoint round trip and resume (offline, CPU).

A 20-clip toy corpus (low tones, high tones, noise bursts, click trains; 4 train + 1 val clip per
class, captions naming them) in the corpus manifest format, and the random-weight ``test`` preset.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from wavlink_core.errors import ConfigError
from wavlink_core.training import TrainConfig
from wavlink_core.training.config import parse_overrides

SR = 16000
# One caption per class keeps the toy problem learnable by a linear head (with several captions
# per class, same-class clips with different captions are negatives of each other).
KINDS = {
    "low": (["a low sine tone"], "sfx", False),
    "high": (["a high sine tone"], "instruments", False),
    "noise": (["a burst of white noise"], "sfx", True),
    "clicks": (["a train of clicks"], "sfx", False),
}


AUDIO_T = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
TEXT_T = ("query", "key", "value", "dense")


def make_corpus(root: Path, per_class: int = 4, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (root / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for cat, (caps, subset, synthetic) in KINDS.items():
        for i in range(per_class + 1):
            n = int(SR * rng.uniform(1.0, 1.6))
            t = np.arange(n) / SR
            if cat == "low":
                w = np.sin(2 * np.pi * rng.uniform(100, 200) * t)
            elif cat == "high":
                w = np.sin(2 * np.pi * rng.uniform(2000, 4000) * t)
            elif cat == "noise":
                w = rng.standard_normal(n) * 0.5
            else:
                w = np.zeros(n)
                w[:: int(SR / rng.uniform(15, 30))] = 1.0
            path = f"clips/{subset}/{cat}_{i}.wav"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / path, (0.5 * w + 0.01 * rng.standard_normal(n)).astype(np.float32), SR)
            rows.append(
                {
                    "path": path,
                    "duration": n / SR,
                    "captions": caps,
                    "category": cat,
                    "subset": subset,
                    "split": "val" if i == per_class else "train",
                    "synthetic": synthetic,
                    "group_id": f"toy:{cat}:{i}",
                    "source_package": "toy",
                }
            )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def cfg_for(corpus: Path, out: Path, **kw) -> TrainConfig:
    base = dict(
        model="test",
        corpus=str(corpus),
        batch_size=8,
        clip_seconds=1.0,
        epochs=2,
        lr=1e-3,
        output_dir=str(out),
        progress=False,
        num_workers=0,
        seed=0,
    )
    base.update(kw)
    return TrainConfig(**base)


def metrics(run: Path, kind: str = "train") -> list[dict]:
    return [
        r
        for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
        if r["kind"] == kind
    ]


def initial_state(cfg: TrainConfig) -> dict[str, torch.Tensor]:
    from wavlink_core.training.engine import build_model

    return {k: v.clone() for k, v in build_model(cfg).state_dict().items()}


def toy_batch(corpus: Path, model):
    from wavlink_core.audio import load_audio
    from wavlink_core.features import batch_log_mel

    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()][:6]
    mel, frames = batch_log_mel([load_audio(str(corpus / r["path"])) for r in rows], 80)
    tok = model.text.tokenize([r["captions"][0] for r in rows])
    return mel, torch.tensor(frames), tok


@torch.no_grad()
def embeddings(model, batch):
    mel, frames, tok = batch
    model.eval()
    return model.encode_audio(mel, frames), model.encode_text(
        tok["input_ids"], tok["attention_mask"]
    )


# ----------------------------------------------------------------------------------------------
# config
# ----------------------------------------------------------------------------------------------
def test_overrides_are_typed():
    got = parse_overrides(
        [
            "--lr=3e-4",
            "--epochs=2",
            "--curated=true",
            "--subsets=sfx,instruments",
            "--init_from=null",
            "--betas=[0.9, 0.98]",
            "--max_clips=100",
            "--stage=s2",
        ]
    )
    assert got == {
        "lr": 3e-4,
        "epochs": 2,
        "curated": True,
        "subsets": ("sfx", "instruments"),
        "init_from": None,
        "betas": (0.9, 0.98),
        "max_clips": 100,
        "stage": "s2",
    }


@pytest.mark.parametrize(
    "item, message",
    [
        ("--lrr=1", "valid keys are"),
        ("--epochs=1.5", "must be an integer"),
        ("--curated=maybe", "true or false"),
        ("--lr=fast", "must be a number"),
        ("--regime=adapters", "choose one of"),
        ("lr=1", "--key=value"),
    ],
)
def test_override_errors(item, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_json(None, [item])


def test_json_config_and_override(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"regime": "lora", "lr": 2e-4, "subsets": ["sfx"]}))
    cfg = TrainConfig.from_json(path, ["--lr=5e-4"])
    assert (cfg.regime, cfg.lr, cfg.subsets) == ("lora", 5e-4, ("sfx",))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    path.write_text(json.dumps({"lr": "1e-4"}))
    with pytest.raises(ConfigError, match="lr must be a number"):
        TrainConfig.from_json(path)
    path.write_text(json.dumps({"learning_rate": 1e-4}))
    with pytest.raises(ConfigError, match="unknown training config keys \\['learning_rate'\\]"):
        TrainConfig.from_json(path)


def test_filters_and_sampler(corpus, tmp_path):
    from wavlink_core.training import data as D

    splits = D.load_splits(cfg_for(corpus, tmp_path, curated=True))
    assert {r["category"] for r in splits.train} == {"low", "high", "clicks"}  # no synthetic noise
    splits = D.load_splits(cfg_for(corpus, tmp_path, subsets=("instruments",)))
    assert {r["category"] for r in splits.train} == {"high"} and len(splits.val) == 1
    rows = D.load_splits(cfg_for(corpus, tmp_path)).train
    sampler = D.EpochSampler(rows, seed=0, synthetic_weight=2.0)
    keys = list(sampler)
    assert len(keys) == len(sampler) == 12 + 8  # synthetic clips drawn twice
    sampler.set_epoch(1)
    assert list(sampler) != keys and sorted(k[0] for k in sampler) == sorted(k[0] for k in keys)


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------
def test_loss_decreases_on_toy_problem(corpus, tmp_path):
    """Full fine-tuning of the audio tower (text features cached) separates tones, noise and clicks."""
    from wavlink_core.training.engine import train

    cfg = cfg_for(
        corpus,
        tmp_path / "run",
        regime="full",
        scope="audio",
        epochs=10,
        lr=2e-3,
        warmup_ratio=0.0,
        val_every=1000,
    )
    summary = train(cfg)
    rows = metrics(Path(summary["run_dir"]))
    assert summary["step"] == 20 and len(rows) == 20
    first = np.mean([r["loss"] for r in rows[:4]])
    last = np.mean([r["loss"] for r in rows[-4:]])
    assert last < 0.85 * first, [round(r["loss"], 3) for r in rows]
    assert {f"loss_at_{d}" for d in (32, 16, 8, 4)} | {"lr", "logit_scale"} <= set(rows[-1])
    val = metrics(Path(summary["run_dir"]), "val")[-1]
    assert {f"val_r1_{d}_at_{k}" for d in ("a2t", "t2a") for k in (32, 16, 8, 4)} <= set(val)


def test_projector_feature_cache_and_round_trip(corpus, tmp_path):
    """Both towers frozen (mean pooling: no global token) -> only the heads train, on cached rows."""
    from wavlink_core import load_pretrained
    from wavlink_core.training.engine import build_model, train
    from wavlink_core.training.regimes import apply_regime
    from wavlink_core.training.run_state import load_state

    cfg = cfg_for(
        corpus, tmp_path / "run", regime="projector", audio_pooling="mean", epochs=3, lr=1e-2
    )
    start = initial_state(cfg)
    summary = train(cfg)
    run = Path(summary["run_dir"])
    assert summary["step"] == 6 and summary["trainable_by_part"]["audio_tower"] == 0
    assert list((run / "cache").glob("audio-*.pt")) and list((run / "cache").glob("text-*.pt"))
    model = load_pretrained(run / "model")
    info = model.training_info
    assert (info["stage"], info["steps"], info["regime"]) == ("stage1", 6, "projector")
    assert info["feature_cache"] == {"audio": True, "text": True}
    assert info["data"]["train_clips"] == 16 and info["hardware"]
    after = model.state_dict()
    for key, value in start.items():
        changed = not torch.equal(after[key], value)
        assert changed == key.startswith(("audio_proj", "text_proj", "logit_scale")), key
    live = build_model(cfg)
    apply_regime(live, cfg)
    load_state(run, live)
    batch = toy_batch(corpus, model)
    for got, want in zip(embeddings(model, batch), embeddings(live, batch), strict=True):
        torch.testing.assert_close(got, want, atol=0, rtol=0)
    # the resolved config was written and reloads to the same config
    assert TrainConfig.from_json(run / "train_config.json") == cfg


@pytest.mark.parametrize(
    "regime, scope, trains",
    [
        ("projector", "both", {"global_token"}),
        ("lora", "audio", {"global_token", "audio_lora"}),
        ("lora", "both", {"global_token", "audio_lora", "text_lora"}),
        ("full", "audio", {"global_token", "audio_tower"}),
        ("full", "both", {"global_token", "audio_tower", "text_tower"}),
    ],
)
def test_regimes(corpus, tmp_path, regime, scope, trains):
    from safetensors.torch import load_file

    from wavlink_core import load_pretrained
    from wavlink_core.training.engine import build_model, train
    from wavlink_core.training.regimes import apply_regime
    from wavlink_core.training.run_state import load_state

    cfg = cfg_for(corpus, tmp_path / "run", regime=regime, scope=scope, max_steps=2, lr=1e-2)
    start = initial_state(cfg)
    summary = train(cfg)
    run = Path(summary["run_dir"])
    by_part = summary["trainable_by_part"]
    assert (by_part["audio_tower"] > 0) == bool({"audio_tower", "audio_lora"} & trains)
    assert (by_part["text_tower"] > 0) == bool({"text_tower", "text_lora"} & trains)
    trained = set(load_file(str(run / "state" / "trainable.safetensors")))
    heads = {"audio_proj.weight", "text_proj.weight", "logit_scale", "audio.global_token"}
    assert heads <= trained
    if regime == "lora":
        assert all("lora_" in k for k in trained - heads)
        assert any(k.startswith("audio.encoder.") for k in trained)
        assert any(k.startswith("text.model.") for k in trained) == (scope == "both")
    saved = load_pretrained(run / "model")
    after = saved.state_dict()
    for key, value in start.items():
        changed = not torch.equal(after[key], value)
        targeted = any(f".{t}.weight" in key for t in AUDIO_T + TEXT_T)
        if key.startswith("text.model."):
            if "text_tower" in trains:
                assert changed or "embeddings" in key, (
                    key
                )  # unused token rows may keep their values
            else:
                assert changed == ("text_lora" in trains and targeted), key
        elif key.startswith("audio.encoder."):
            if "embed_positions" in key:
                assert not changed, key  # Whisper's sinusoidal table never trains
            elif "audio_tower" in trains:
                assert changed, key
            else:
                assert changed == ("audio_lora" in trains and targeted), key
        elif key == "audio.global_token":
            assert changed
    # the checkpoint (LoRA merged) gives the same embeddings as the training model itself
    live = build_model(cfg)
    apply_regime(live, cfg)
    load_state(run, live)
    batch = toy_batch(corpus, saved)
    for got, want in zip(embeddings(saved, batch), embeddings(live, batch), strict=True):
        torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-4)


def test_resume_matches_uninterrupted_run(corpus, tmp_path):
    from safetensors.torch import load_file

    from wavlink_core.training.engine import train

    kw = dict(regime="full", scope="both", epochs=2, lr=1e-3)
    full = train(cfg_for(corpus, tmp_path / "a", **kw))
    halted = train(cfg_for(corpus, tmp_path / "b", halt_at_step=3, **kw))
    assert halted["halted"] and halted["step"] == 3 and not (tmp_path / "b" / "model").exists()
    with pytest.raises(ConfigError, match="--resume=true"):
        train(cfg_for(corpus, tmp_path / "b", **kw))
    with pytest.raises(ConfigError, match="differs in \\['lr'\\]"):
        train(cfg_for(corpus, tmp_path / "b", resume=True, **{**kw, "lr": 2e-3}))
    resumed = train(cfg_for(corpus, tmp_path / "b", resume=True, **kw))
    assert resumed["step"] == full["step"] == 4 and not resumed["halted"]
    a, b = metrics(tmp_path / "a"), metrics(tmp_path / "b")
    assert [r["step"] for r in b] == [1, 2, 3, 4]
    assert [r["lr"] for r in a] == [r["lr"] for r in b]
    for x, y in zip(a, b, strict=True):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-5, abs=1e-6)
    wa = load_file(str(tmp_path / "a" / "state" / "trainable.safetensors"))
    wb = load_file(str(tmp_path / "b" / "state" / "trainable.safetensors"))
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=1e-5)


def test_cli(corpus, tmp_path, capsys):
    from wavlink_core.training.__main__ import main

    assert main(["--help"]) == 0
    assert "--regime=" in capsys.readouterr().out
    path = tmp_path / "run.json"
    path.write_text(
        json.dumps(
            {
                "model": "test",
                "corpus": str(corpus),
                "batch_size": 8,
                "clip_seconds": 1.0,
                "regime": "projector",
                "audio_pooling": "mean",
                "progress": False,
            }
        )
    )
    assert main(["--config", str(path), "--lrr=1"]) == 2
    assert "valid keys are" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main(["--config", str(path), "--max_steps=1", f"--output_dir={out}"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 1
    assert (out / "model" / "model.safetensors").is_file() and (out / "train_config.json").is_file()


def test_shared_audio_cache_encodes_each_clip_once(corpus, tmp_path):
    """Runs sharing cache_dir reuse per-clip features: a subset run encodes nothing new, and the
    cached rows equal what the frozen tower computes directly."""
    from wavlink_core.training import data as D
    from wavlink_core.training.engine import build_model

    cfg = cfg_for(corpus, tmp_path / "a", regime="projector", audio_pooling="mean")
    model = build_model(cfg)
    splits = D.load_splits(cfg)
    cache = tmp_path / "shared"
    full = D.audio_features(model, splits.train, splits.corpus, cfg, cache)
    calls = []
    original = model.audio.forward
    model.audio.forward = lambda *a, **k: calls.append(1) or original(*a, **k)
    subset = splits.train[::3]
    again = D.audio_features(model, subset, splits.corpus, cfg, cache)
    assert not calls, "a clip already in the shared cache was encoded again"
    torch.testing.assert_close(again, full[::3])
    model.audio.forward = original
    fresh = D.audio_features(model, subset, splits.corpus, cfg, None)
    torch.testing.assert_close(again, fresh, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# the one-command fine-tune keeps the shared space
# ----------------------------------------------------------------------------------------------
def test_starting_point_distance_and_its_gradient():
    from wavlink_core.training.anchor import StartingPoint

    layer = torch.nn.Linear(3, 2)
    frozen = torch.nn.Linear(3, 2).requires_grad_(False)
    net = torch.nn.Sequential(layer, frozen)
    start = StartingPoint(net, weight=0.5)
    assert set(start.anchor) == {"0.weight", "0.bias"}  # only what trains is anchored
    assert float(start.distance(net).detach()) == 0
    with torch.no_grad():
        layer.weight.add_(0.1)
        frozen.weight.add_(5.0)  # frozen weights never count
    dist = start.distance(net)
    assert float(dist.detach()) == pytest.approx(6 * 0.01, rel=1e-5)
    dist.backward()
    torch.testing.assert_close(layer.weight.grad, torch.full((2, 3), 0.2))


def test_cpu_finetune_defaults_keep_text_and_pull_toward_the_start(corpus, tmp_path, capsys):
    """The one command's defaults freeze the text head and add L2-SP: after the same schedule,
    every word's text embedding is unchanged and the audio head moved less than without them."""
    from wavlink_core import load_pretrained, save_pretrained
    from wavlink_core.config import get_preset
    from wavlink_core.model import WavLink
    from wavlink_core.training.__main__ import CPU_FINETUNE, cpu_finetune_defaults, main
    from wavlink_core.training.engine import train

    init = save_pretrained(WavLink(get_preset("test")), tmp_path / "init")
    cfg = cfg_for(corpus, tmp_path / "new", init_from=str(init), device="cpu", epochs=3, lr=1e-2)
    keep, applied = cpu_finetune_defaults(cfg, {"epochs", "lr", "batch_size"})
    assert applied["train_text_head"] is False and applied["l2sp"] > 0
    assert "epochs" not in applied and keep.epochs == 3  # what the user set stays
    old = cfg.replace(
        output_dir=str(tmp_path / "old"), regime="projector", train_global_token=False
    )
    train(keep)
    train(old)
    start = load_pretrained(init).state_dict()
    new_sd = load_pretrained(tmp_path / "new" / "model").state_dict()
    old_sd = load_pretrained(tmp_path / "old" / "model").state_dict()
    torch.testing.assert_close(new_sd["text_proj.weight"], start["text_proj.weight"])
    assert not torch.equal(old_sd["text_proj.weight"], start["text_proj.weight"])

    def moved(sd):
        return float((sd["audio_proj.weight"] - start["audio_proj.weight"]).pow(2).sum())

    assert 0 < moved(new_sd) < moved(old_sd)
    info = load_pretrained(tmp_path / "new" / "model").training_info
    assert info["l2sp"] == CPU_FINETUNE["l2sp"] and info["train_text_head"] is False
    assert "l2sp_distance" in metrics(tmp_path / "new")[-1]

    # A folder below min_clips is refused, saying how many clips it holds.
    small = tmp_path / "small"
    for label in ("dog", "cat"):
        (small / label).mkdir(parents=True)
        sf.write(small / label / "a.wav", np.zeros(SR, dtype=np.float32), SR)
    rc = main(
        [f"--data={small}", f"--init_from={init}", f"--output_dir={tmp_path / 'x'}", "--device=cpu"]
    )
    assert rc == 2 and "holds 2 clips" in capsys.readouterr().err
