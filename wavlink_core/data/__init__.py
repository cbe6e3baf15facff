"""Training data of every kind: sources (corpus, tables, class folders, Hugging Face datasets,
streamed or not, WebDataset shards), their detection and mixing, and ``python -m
wavlink_core.data shard``.

Modules: ``sources`` (kinds, detection, ``--data``/``--data_weights``), ``tables`` (CSV/JSONL,
AudioCaps, Clotho, audiofolder, class folders), ``hf`` (``save_to_disk`` datasets), ``hfstream``
(``hf+stream:`` datasets read as ``IterableDataset``), ``shards`` (WebDataset listing and the
rank/worker-split stream), ``mix`` (any mix holding a streamed kind, drawn by weight),
``convert`` (any source -> shards, locally or to an fsspec URL).
"""

from .sources import KINDS, Source, detect_kind, parse_sources

__all__ = ["KINDS", "Source", "detect_kind", "parse_sources"]
