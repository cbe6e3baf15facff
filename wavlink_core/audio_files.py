"""Audio files named on a command line: files as given, folders searched for audio recursively."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .audio import AUDIO_EXTENSIONS


def find_audio_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[str]]:
    """Expand folders into the audio files below them, keeping the order of the arguments.

    A file argument is kept whatever its name (the loader reports a missing or bad one); a folder
    gives every file below it whose extension is in ``AUDIO_EXTENSIONS``, sorted by path, without
    following links to other folders (a link cycle must not loop).

    Returns:
        (files, problems): the files to load, and one message per folder that holds no audio.
    """
    files: list[str] = []
    problems: list[str] = []
    for arg in map(str, paths):
        if not os.path.isdir(arg):
            files.append(arg)
            continue
        found = sorted(
            str(Path(root) / name)
            for root, _dirs, names in os.walk(arg)
            for name in names
            if Path(name).suffix.lower() in AUDIO_EXTENSIONS
        )
        if not found:
            wanted = ", ".join(sorted(AUDIO_EXTENSIONS))
            problems.append(f"{arg}: folder holds no audio files (looked for {wanted})")
        files.extend(found)
    return files, problems
