"""Whisper-AuT adaptation (wavlink_core.adapt) on a random 2-layer Whisper and a synthetic corpus."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from wavlink_core.adapt.config import AdaptConfig
from wavlink_core.errors import CheckpointError, ConfigError

SR = 16000


def _write_corpus(root: Path) -> Path:
    """Per split: English speech, French speech, untranscribed speech, sfx and instrument clips."""
    (root / "clips").mkdir(parents=True)
    rows = []

    def add(name, subset, split, freq, captions, transcript=None, language=None, seconds=1.0):
        t = np.arange(int(SR * seconds)) / SR
        noise = np.random.default_rng(len(rows)).standard_normal(t.size)
        wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * noise
        sf.write(root / "clips" / f"{name}.wav", wave.astype(np.float32), SR)
        rows.append(
            dict(
                path=f"clips/{name}.wav",
                duration=seconds,
                captions=captions,
                category=subset,
                subset=subset,
                split=split,
                synthetic=False,
                transcript=transcript,
                language=language,
            )
        )

    for split, n in (("train", 6), ("val", 2), ("test", 2)):
        for i in range(n):
            add(
                f"en_{split}{i}",
                "speech",
                split,
                200 + 20 * i,
                ["a man speaking"],
                f"Hello {i}.",
                "en_GB",
            )
            add(f"fr_{split}{i}", "speech", split, 300, ["French speech"], "Bonjour.", "fr")
            add(f"word_{split}{i}", "speech", split, 350, ["a single word"])
            add(f"sfx_{split}{i}", "sfx", split, 1000 + 50 * i, ["a dog barks", "a dog barking"])
            add(f"ins_{split}{i}", "instruments", split, 440, ["a piano note"])
    add("long_caption", "sfx", "train", 900, ["word " * 80])
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def whisper():
    from wavlink_core.adapt.seq2seq import Prompts, load_seq2seq

    model, tokenizer = load_seq2seq("random", seed=0)
    return model, tokenizer, Prompts.for_model(model, tokenizer)


# ---- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"caption_prompt": "caption"}, r"caption_prompt='caption'.*\['transcribe', 'prev'\]"),
        ({"speech_weight": -0.1}, "must be >= 0 with a positive sum"),
        ({"speech_weight": 0, "sound_weight": 0, "music_weight": 0}, "positive sum"),
        ({"sound_subsets": ("sfx", "drums")}, r"unknown subset\(s\) \['drums'\]; valid: \['sfx'"),
        ({"sound_subsets": ("speech",)}, r"unknown subset\(s\) \['speech'\]"),
        ({"music_subsets": ("sfx",)}, r"\['sfx'\] are in both"),
        ({"clip_seconds": 31.0}, "exceeds Whisper's 30-s window"),
        ({"precision": "int8"}, r"precision='int8'.*'bf16'"),
        ({"speech_languages": ()}, "speech_languages is empty"),
        ({"max_steps": 0}, "max_steps=0 must be > 0 or null"),
    ],
)
def test_config_rejects_bad_values(changes, match):
    with pytest.raises(ConfigError, match=match):
        AdaptConfig(**changes)


def test_config_json_and_overrides(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"corpus": "c", "music_subsets": ["instruments"]}))
    cfg = AdaptConfig.from_json(path, ["--speech_weight=0.5", "--speech_languages=en,fr"])
    assert (cfg.corpus, cfg.music_subsets, cfg.speech_weight) == ("c", ("instruments",), 0.5)
    assert cfg.speech_languages == ("en", "fr")
    assert (cfg.lr, cfg.weight_decay, cfg.warmup_ratio, cfg.epochs) == (1e-5, 0.01, 0.05, 2)
    assert AdaptConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match=r"unknown adaptation config keys \['learning_rate'\]"):
        AdaptConfig.from_json(None, ["--learning_rate=1"])
    with pytest.raises(ConfigError, match="lr must be a number"):
        AdaptConfig.from_json(None, ["--lr=fast"])


# ---- data -----------------------------------------------------------------------------------


def test_examples_have_the_right_targets(corpus, whisper):
    from wavlink_core.adapt.data import Collator, load_data
    from wavlink_core.adapt.seq2seq import IGNORE

    _, tokenizer, prompts = whisper
    cfg = AdaptConfig.for_tests(corpus=str(corpus), max_target_tokens=48)
    data = load_data(cfg, prompts)
    sot, no_ts = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", "<|notimestamps|>"])
    by_path = {ex.path: ex for ex in data.train}
    speech = by_path["clips/en_train3.wav"]
    assert speech.domain == "speech" and speech.language == "en"
    assert speech.prompt == (sot, no_ts) and speech.texts == ("Hello 3.",)
    assert tokenizer.decode(speech.targets[0]) == " Hello 3.<|endoftext|>"
    sound = by_path["clips/sfx_train0.wav"]
    assert sound.domain == "sound" and sound.texts == ("a dog barks", "a dog barking")
    assert by_path["clips/ins_train0.wav"].domain == "music"
    # English-only Whisper: French and untranscribed speech and the over-long caption are dropped.
    assert not any(p.startswith(("clips/fr_", "clips/word_")) for p in by_path)
    assert "clips/long_caption.wav" not in by_path
    assert data.dropped["train: speech in another language"] == 6
    assert data.dropped["train: speech without transcript"] == 6
    assert data.dropped["train: sound targets over 48 tokens"] == 1
    assert Counter(ex.domain for ex in data.val) == {"speech": 2, "sound": 2, "music": 2}

    batch = Collator(n_mels=80, pad_to_30s=False, pad_id=prompts.eot)(
        [
            {
                "wave": np.zeros(SR, np.float32),
                "prompt": ex.prompt,
                "target": ex.targets[0],
                "domain": 0,
            }
            for ex in (speech, sound)
        ]
    )
    labels = batch["labels"][0]
    assert labels[0] == IGNORE and labels[1] == speech.targets[0][0]  # the prompt is not learnt
    assert labels[labels != IGNORE].tolist() == list(speech.targets[0])
    assert batch["input_ids"][0, :2].tolist() == [sot, no_ts]
    assert batch["frames"].tolist() == [102, 102]  # 1 s + the STFT's half window, rounded even

    with pytest.raises(ConfigError, match=r"\['fr'\] cannot be prompted on the English-only"):
        load_data(cfg.replace(speech_languages=("en", "fr")), prompts)
    with pytest.raises(ConfigError, match=r"no training clips for domain\(s\) \['music'\]"):
        load_data(cfg.replace(music_subsets=("gm",)), prompts)


def test_prev_caption_prompt(whisper):
    from wavlink_core.adapt.seq2seq import Prompts

    model, tokenizer, prompts = whisper
    prev = Prompts.for_model(model, tokenizer, "prev").caption()
    assert (
        tokenizer.decode(prev)
        == "<|startofprev|> Audio caption:<|startoftranscript|><|notimestamps|>"
    )
    assert prompts.caption() == prompts.speech("en")


def test_mix_sampler_follows_weights_and_train_split(corpus, whisper):
    from wavlink_core.adapt.data import MixSampler, load_data

    pools = {"speech": list(range(5)), "sound": list(range(5, 55)), "music": list(range(55, 75))}
    weights = {"speech": 0.8, "sound": 0.1, "music": 0.1}
    sampler = MixSampler(pools, weights, seed=3, num_samples=5000)
    keys = list(sampler)
    domain = {i: d for d, idx in pools.items() for i in idx}
    share = Counter(domain[k[0]] for k in keys)
    for d, w in weights.items():
        assert abs(share[d] / len(keys) - w) < 0.03, (d, share)
    # A small pool cycles: every speech clip about equally often, each cycle a new shuffle.
    per_clip = Counter(k[0] for k in keys if k[0] < 5)
    assert max(per_clip.values()) - min(per_clip.values()) <= 1
    assert list(sampler) == keys
    sampler.set_epoch(1)
    assert list(sampler) != keys

    cfg = AdaptConfig.for_tests(corpus=str(corpus))
    data = load_data(cfg, whisper[2])
    train_paths = {json.loads(line)["path"] for line in (corpus / "manifest.jsonl").open()}
    train_paths = {p for p in train_paths if "_train" in p or p == "clips/long_caption.wav"}
    drawn = {
        data.train[k[0]].path for k in MixSampler(data.pools(), cfg.mix, seed=0, num_samples=500)
    }
    assert drawn and drawn <= train_paths


# ---- optimisation, saving, resuming ---------------------------------------------------------


def test_steps_reduce_the_loss_on_a_repeated_batch(corpus):
    from wavlink_core.adapt.data import AdaptDataset, Collator, load_data
    from wavlink_core.adapt.engine import Seq2SeqStep
    from wavlink_core.adapt.seq2seq import Prompts, load_seq2seq
    from wavlink_core.training.engine import param_groups

    model, tokenizer = load_seq2seq("random", seed=1)
    cfg = AdaptConfig.for_tests(corpus=str(corpus))
    data = load_data(cfg, Prompts.for_model(model, tokenizer))
    ds = AdaptDataset(data.train, data.corpus, cfg, train=False)
    batch = Collator(n_mels=80, pad_to_30s=False, pad_id=50256)([ds[i] for i in (0, 7, 14)])
    step = Seq2SeqStep(model).train()
    opt = torch.optim.AdamW(param_groups(model, 0.01), lr=3e-3)
    losses = []
    for _ in range(8):
        loss = step(batch)["loss"]
        losses.append(float(loss.detach()))
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < losses[0] - 1.0, losses
    # Tied output layer: one Parameter, so one update per step.
    assert model.proj_out.weight is model.model.decoder.embed_tokens.weight


def test_train_saves_a_backbone_wavlink_loads_and_resume_matches(corpus, tmp_path):
    from safetensors.torch import load_file

    from wavlink_core import PRESETS, WavLink
    from wavlink_core.adapt.engine import train
    from wavlink_core.adapt.seq2seq import read_provenance
    from wavlink_core.whisper_weights import load_whisper

    cfg = AdaptConfig.for_tests(corpus=str(corpus), max_steps=3, batch_size=2, log_every=1)
    full = train(cfg.replace(output_dir=str(tmp_path / "full")))
    assert full["step"] == 3 and not full["halted"] and full["val"]["val_loss"] > 0
    rows = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").open()]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2, 3]

    half = cfg.replace(output_dir=str(tmp_path / "half"), halt_at_step=1)
    assert train(half)["halted"]
    with pytest.raises(ConfigError, match="already holds a run"):
        train(half)
    with pytest.raises(ConfigError, match=r"differs in \['lr'\]"):
        train(half.replace(resume=True, lr=1.0))
    resumed = train(half.replace(resume=True, halt_at_step=None))
    assert resumed["step"] == 3
    a = load_file(str(tmp_path / "full" / "backbone" / "model.safetensors"))
    b = load_file(str(tmp_path / "half" / "backbone" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)

    folder = tmp_path / "full" / "backbone"
    config, state = load_whisper(folder)
    assert config.d_model == 64 and "model.decoder.embed_tokens.weight" in state
    prov = read_provenance(folder)
    assert prov["base_backbone"] == "random" and prov["steps"] == 3
    assert prov["mix"] == {"speech": 0.8, "sound": 0.1, "music": 0.1}
    assert len(prov["manifest_sha256"]) == 64 and prov["hardware"]
    test = PRESETS["test"]
    wavlink = WavLink(test.replace(audio=dataclasses.replace(test.audio, backbone=str(folder))))
    torch.testing.assert_close(
        wavlink.audio.encoder.conv1.weight, state["model.encoder.conv1.weight"], rtol=0, atol=0
    )
    with torch.no_grad():
        emb = wavlink.encode_audio(torch.randn(2, 80, 200))
    assert emb.shape == (2, 32) and torch.allclose(emb.norm(dim=-1), torch.ones(2))


# ---- decoding and WER -----------------------------------------------------------------------


def test_greedy_decode_matches_full_recomputation(whisper):
    from wavlink_core.adapt.seq2seq import greedy_decode

    model, _, prompts = whisper
    model.eval()
    torch.manual_seed(0)
    hidden = torch.randn(2, 50, 64)
    prompt = torch.tensor([prompts.speech()] * 2)
    got = greedy_decode(model, hidden, prompt, max_new_tokens=6)
    c = model.config
    for row in range(2):
        ids = list(prompts.speech())
        for t in range(6):
            with torch.no_grad():
                logits = model(
                    encoder_outputs=(hidden[row : row + 1],), decoder_input_ids=torch.tensor([ids])
                ).logits[0, -1]
            logits[c.eos_token_id + 1 :] = -float("inf")
            logits[c.suppress_tokens] = -float("inf")
            if t == 0:
                logits[c.begin_suppress_tokens] = -float("inf")
            nxt = int(logits.argmax())
            if nxt == c.eos_token_id:
                break
            ids.append(nxt)
        assert got[row] == ids[2:]


def test_word_error_rate_on_known_strings():
    from wavlink_core.adapt.wer import edit_distance, normalise, word_error_rate

    assert edit_distance("a b c d".split(), "a x c".split()) == 2
    assert edit_distance([], "a b".split()) == 2
    assert (
        normalise("Hello, World!  Mr. Smith's 21 apples")
        == "hello world mister smith is 21 apples"  # Whisper expands 's
    )
    res = word_error_rate(
        ["Hello, world!", "the cat sat on the mat", "Hmm."],
        ["hello world", "the cat sat on mat today", "anything"],
    )
    # 0 + (1 deletion + 1 insertion) errors over 2 + 6 words; "Hmm." normalises to nothing.
    assert (res["errors"], res["words"], res["clips"], res["skipped"]) == (2, 8, 2, 1)
    assert res["wer"] == pytest.approx(0.25)


def test_compare_writes_probe_and_wer_tables(corpus, tmp_path, whisper):
    from wavlink_core.adapt.compare import compare, write_report
    from wavlink_core.adapt.seq2seq import save_backbone, tokenizer_file

    model, _, _ = whisper
    folder = save_backbone(
        model,
        tokenizer_file("random"),
        tmp_path / "vanilla",
        {"base_backbone": "random", "steps": 0, "mix": {}},
    )
    fsdd = tmp_path / "fsdd" / "recordings"
    fsdd.mkdir(parents=True)
    for digit in range(2):
        for i in range(7):
            t = np.arange(SR // 2) / SR
            wave = 0.3 * np.sin(2 * np.pi * (300 + 600 * digit) * t)
            sf.write(fsdd / f"{digit}_spk_{i}.wav", wave.astype(np.float32), SR)
    res = compare(
        {"vanilla": str(folder)},
        {"fsdd": str(tmp_path / "fsdd")},
        speech_corpus=str(corpus),
        speech={"max_clips": 1, "pad_to_30s": False},
        progress=False,
    )
    probe = res["probe"]["fsdd"]["vanilla"]
    assert probe["test_clips"] == 10 and probe["clips"] == 14
    assert probe["protocol"] == "official train/test split"
    wer = res["wer"]["vanilla"]
    assert wer["clips"] == 1 and wer["transcripts"][0]["reference"] == "Hello 0."
    js, md = write_report(res, tmp_path / "out")
    assert "| fsdd | official train/test split | 2 | 10 |" in md.read_text()
    assert json.loads(js.read_text())["wer"]["vanilla"]["words"] == 2  # "hello 0"

    # ESC layout: the paper's fold 5, or every fold tested once with cv=True
    esc = tmp_path / "esc"
    for cls, freq in (("001 - Dog bark", 300), ("002 - Rain", 1500)):
        (esc / cls).mkdir(parents=True)
        for fold in range(1, 6):
            t = np.arange(SR // 2) / SR
            wave = 0.3 * np.sin(2 * np.pi * (freq + 10 * fold) * t).astype(np.float32)
            sf.write(esc / cls / f"{fold}-{freq}-A.wav", wave, SR)
    for cv, tested, protocol in ((False, 2, "test 5"), (True, 10, "5-fold cross-validation")):
        res = compare({"vanilla": str(folder)}, {"esc10": str(esc)}, cv=cv, progress=False)
        probe = res["probe"]["esc10"]["vanilla"]
        assert probe["test_clips"] == tested and protocol in probe["protocol"]


def test_wavlink_trains_on_an_adapted_backbone_and_exports_without_it(corpus, tmp_path):
    """The issue's hand-off: adapt -> train WavLink with ``audio_backbone=`` -> a checkpoint that
    loads where the adapted folder is gone (rebased) and still says where its encoder came from."""
    import shutil

    from wavlink_core.adapt.engine import train as adapt
    from wavlink_core.checkpoint import audio_origin, load_pretrained, rebase_audio, save_pretrained
    from wavlink_core.training.config import TrainConfig
    from wavlink_core.training.engine import train
    from wavlink_core.whisper_weights import load_whisper

    acfg = AdaptConfig.for_tests(corpus=str(corpus), max_steps=2, batch_size=2)
    adapt(acfg.replace(output_dir=str(tmp_path / "aut")))
    folder = tmp_path / "aut" / "backbone"
    _, adapted = load_whisper(folder)

    cfg = TrainConfig(
        model="test",
        audio_backbone=str(folder),
        regime="projector",  # the encoder stays the adapted one, so the start is checkable
        corpus=str(corpus),
        batch_size=4,
        clip_seconds=1.0,
        max_steps=2,
        output_dir=str(tmp_path / "wavlink"),
        progress=False,
    )
    with pytest.raises(ConfigError, match="audio_backbone cannot change an init_from"):
        train(cfg.replace(init_from=str(tmp_path / "elsewhere")))
    train(cfg)
    model = load_pretrained(tmp_path / "wavlink" / "model")
    assert model.config.audio.backbone == str(folder)
    torch.testing.assert_close(
        model.audio.encoder.conv1.weight, adapted["model.encoder.conv1.weight"], rtol=0, atol=0
    )
    origin = audio_origin(model)
    assert origin["backbone"] == str(folder) and origin["adaptation"]["steps"] == 2

    portable = rebase_audio(model, "random")
    save_pretrained(portable, tmp_path / "export")
    shutil.rmtree(tmp_path / "aut")
    loaded = load_pretrained(tmp_path / "export")
    assert loaded.config.audio.backbone == "random"
    assert audio_origin(loaded)["adaptation"]["steps"] == 2
    mel = torch.randn(1, 80, 100)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_audio(mel), model.encode_audio(mel))
    with pytest.raises(CheckpointError, match=r"'tiny.en' has .*\(80, 384, 4, 6\)"):
        rebase_audio(model, "tiny.en")  # 4 x 384 Whisper under a 64-wide test tower
