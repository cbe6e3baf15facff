"""Training data of every kind: sources (corpus, tables, class folders, Hugging Face datasets,
WebDataset shards), their detection and mixing, and ``python -m wavlink_core.data shard``.

Modules: ``sources`` (kinds, detection, ``--data``/``--data_weights``), ``tables`` (CSV/JSONL,
AudioCaps, Clotho, audiofolder, class folders), ``hf`` (``save_to_disk`` datasets), ``shards``
(WebDataset listing and the rank/worker-split stream), ``convert`` (any source -> shards).
"""

from .sources import KINDS, Source, detect_kind, parse_sources

__all__ = ["KINDS", "Source", "detect_kind", "parse_sources"]
