"""Removes the app's old uploads and returned files from Gradio's cache, as ``delete_cache`` means to.

The app passes ``delete_cache=(every, age)`` to ``gr.Blocks``, but Gradio 6.31's scheduled cleaning
iterates over the live set of uploaded files while the upload route adds to it: under steady
uploads the task dies ("Set changed size during iteration") and never runs again. In a soak run
(scripts/bench_soak.py, 998 requests in 15 minutes, cleaning every 60 s for files over 180 s old)
the cache grew to 114.5 MB and 1,374 files. It also leaves behind the folder of each upload and
the empty ``tmp*`` file Gradio's multipart parser makes per upload. This sweeper does the same job
on a copy of each set, plus those leftovers; Gradio's own pass still empties the cache on close.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from pathlib import Path

from gradio.utils import get_upload_folder

log = logging.getLogger("wavlink.demo")


def sweep(blocks, age_s: float, folder: str | Path | None = None) -> int:
    """Remove the files ``blocks`` put in Gradio's cache more than ``age_s`` ago (by ctime, as
    Gradio does), then empty folders and empty upload leftovers older than that in ``folder``
    (Gradio's upload folder by default). Returns the number of files removed."""
    cutoff = time.time() - age_s
    keep = set()
    for block in list(blocks.blocks.values()):
        keep |= set(getattr(block, "keep_in_cache", ()))
    removed = 0
    for files in blocks.temp_file_sets:
        for path in list(files):  # a copy: uploads add to the set while this runs
            if path in keep:
                continue
            try:
                if os.lstat(path).st_ctime < cutoff:
                    os.remove(path)
                    removed += 1
                    files.discard(path)
            except FileNotFoundError:
                files.discard(path)
    with os.scandir(folder or get_upload_folder()) as entries:
        for entry in entries:
            try:
                stat = entry.stat(follow_symlinks=False)
                if stat.st_mtime >= cutoff:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    os.rmdir(entry.path)  # only succeeds when empty
                elif entry.name.startswith("tmp") and stat.st_size == 0:
                    os.remove(entry.path)
            except OSError:  # not empty, or removed meanwhile
                continue
    return removed


def start(blocks, every_s: float, age_s: float) -> threading.Thread:
    """Sweep every ``every_s`` seconds in a daemon thread for as long as ``blocks`` exists."""
    ref = weakref.ref(blocks)

    def run() -> None:
        while True:
            time.sleep(every_s)
            target = ref()
            if target is None:
                return
            try:
                n = sweep(target, age_s)
                if n:
                    log.info("cache cleaning removed %d files older than %d s", n, age_s)
            except Exception:  # noqa: BLE001 - cleaning must never take the app down
                log.exception("cache cleaning failed")
            del target

    thread = threading.Thread(target=run, name="cache-cleaning", daemon=True)
    thread.start()
    return thread
