"""The ffmpeg fallback of :mod:`wavlink_core.audio`, for what libsndfile cannot read (m4a, webm).

It uses the ``ffmpeg`` and ``ffprobe`` binaries on PATH; without them the error names the Debian
package to install.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import numpy as np

from .audio import _SOUNDFILE_EXTS, SAMPLE_RATE, AudioInfo, _check_rate, _Reader
from .errors import AudioError

logger = logging.getLogger("wavlink_core.audio")  # one logger name for the whole loader


def resolve_ffmpeg(
    data: str | bytes, label: str, ext: str, sf_error: str
) -> tuple[AudioInfo, _Reader]:
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if ffmpeg is None or ffprobe is None:
        if ext in _SOUNDFILE_EXTS or not ext:
            raise AudioError(
                f"{label}: cannot decode: not an audio file or corrupt (libsndfile: {sf_error})"
            )
        raise AudioError(
            f"{label}: cannot decode {ext} files without ffmpeg, which is not on PATH "
            f"(libsndfile: {sf_error}); install the Debian package 'ffmpeg' (apt-get install ffmpeg)"
        )
    logger.debug("%s: libsndfile failed (%s), trying ffmpeg", label, sf_error)
    with _as_file(data) as path:
        probe = subprocess.run(
            [
                ffprobe,
                "-v",
                "error",
                "-select_streams",
                "a:0",
                "-of",
                "json",
                "-show_entries",
                "stream=sample_rate,channels,codec_name:format=duration,format_name",
                path,
            ],
            capture_output=True,
            text=True,
        )
    meta = json.loads(probe.stdout or "{}") if probe.returncode == 0 else {}
    if not meta.get("streams"):
        reason = (
            probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "no audio stream"
        )
        raise AudioError(
            f"{label}: cannot decode: not an audio file or corrupt "
            f"(libsndfile: {sf_error}; ffmpeg: {reason})"
        )
    stream, container = meta["streams"][0], meta.get("format", {})
    rate = _check_rate(int(stream.get("sample_rate", 0)), label)  # ffprobe states it as a string
    try:
        duration = float(container.get("duration", "nan"))
    except ValueError:  # "N/A": e.g. webm from a browser's MediaRecorder states no duration
        duration = math.nan
    info = AudioInfo(
        label,
        duration,
        rate,
        int(stream.get("channels") or 1),
        f"ffmpeg:{container.get('format_name', '?')}",
        stream.get("codec_name", "?"),
        declared_s=duration,
    )

    def read(max_seconds: float | None) -> tuple[np.ndarray, int]:
        # One extra second of output proves "too long" even when the container states no duration.
        limit = [] if max_seconds is None else ["-t", f"{max_seconds + 1.0:.3f}"]
        # Channels are kept and averaged by _finish: ffmpeg's own "-ac 1" mixes at 1/sqrt(2), not the mean.
        with _as_file(data) as path:
            proc = subprocess.run(
                [
                    ffmpeg,
                    "-nostdin",
                    "-v",
                    "error",
                    "-i",
                    path,
                    "-map",
                    "0:a:0",
                    "-ac",
                    str(info.channels),
                    "-ar",
                    str(SAMPLE_RATE),
                    *limit,
                    "-f",
                    "f32le",
                    "pipe:1",
                ],
                capture_output=True,
            )
        if proc.returncode != 0:
            lines = proc.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
            raise AudioError(f"{label}: cannot decode: ffmpeg failed: {lines[-1]}")
        pcm = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)
        return pcm[: pcm.size - pcm.size % info.channels].reshape(-1, info.channels), SAMPLE_RATE

    return info, read


@contextlib.contextmanager
def _as_file(data: str | bytes) -> Iterator[str]:
    """Yield a path to ``data``; bytes go to a temporary file since mp4 cannot be demuxed from a pipe."""
    if isinstance(data, str):
        yield data
        return
    with tempfile.TemporaryDirectory(prefix="wavlink-audio-") as tmp:
        path = os.path.join(tmp, "input")
        with open(path, "wb") as fh:
            fh.write(data)
        yield path
