"""The one place where exceptions become messages for people (never a stack trace, never a path).

A handler wrapped in :func:`guard` turns an expected user error (bad audio, bad labels or template, a
value out of range) into a plain sentence that says what happened and what to do; the server log
gets one line with the full technical detail. A real fault keeps its traceback in the log and shows
a short note. Messages are escaped (toasts render HTML) and server paths are cut to file names.

:func:`show_failure` makes an event's failure visible where its result was: the old result is
cleared and the reason stays on screen after the toast has gone.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import traceback
from collections import OrderedDict
from pathlib import Path

import gradio as gr
from gradio.context import LocalContext

import wavlink_core
from wavlink_core import AudioError, WavLinkError

from . import escape
from .engine import HARD_MAX_S, MAX_CLIP_S, WINDOW_S

log = logging.getLogger("wavlink.demo")
UPLOAD_LIMIT = "20 MB"  # the app's max_file_size (LAUNCH_KWARGS), stated next to every upload widget
UPLOAD_NOTE = (
    f"Audio files up to {UPLOAD_LIMIT} (wav, flac, ogg, opus, mp3; m4a/aac/webm where ffmpeg is "
    f"installed). Clips longer than {WINDOW_S:.0f} s are averaged over {WINDOW_S:.0f}-s windows "
    f"of their first {MAX_CLIP_S:.0f} s; over {HARD_MAX_S / 60:.0f} minutes are refused."
)
# Absolute paths (POSIX or Windows) of two or more parts: upload caches, temporary folders.
_PATH = re.compile(r"(?<![\w.:/\\])(?:[A-Za-z]:)?(?:[\\/][^\s\\/'\"`,;()<>]+){2,}")
# Core AudioError reasons (the message is "<file name>: <reason>") → what happened and what to do.
_AUDIO_REASONS: tuple[tuple[str, str], ...] = (
    (
        r"too long",
        f"{{name}} is too long{{length}}: the demo accepts recordings of up to "
        f"{HARD_MAX_S / 60:.0f} minutes and uses their first {MAX_CLIP_S:.0f} s. Cut out the part "
        f"you want (up to {MAX_CLIP_S:.0f} s) and upload that.",
    ),
    (
        r"cancel|opposite phase|below its channels",
        "{name} is silent once its channels are mixed to mono: they cancel each other out "
        "(one channel is the other turned upside down). Upload one channel of it, or another file.",
    ),
    (
        r"silent",
        "{name} is silent: it holds no sound at all. Check that the microphone was on and picked "
        "something up, or choose another file.",
    ),
    (
        r"without ffmpeg",
        "{name} is in a format this server can only read with ffmpeg, which is not installed "
        "here. Convert it to WAV, FLAC, OGG or MP3 and upload it again.",
    ),
    (
        r"not found|no longer",
        "{name} is no longer on the server: uploads are removed after a while. Upload it again.",
    ),
    (
        r"empty",
        "{name} is empty (0 bytes), so the upload probably failed. Upload the file again.",
    ),
    (
        r"non-finite|NaN",
        "{name} contains invalid samples (NaN or infinity), so it cannot be analysed. Export "
        "it again as a 16- or 24-bit WAV file.",
    ),
    (
        r"sampling rate",
        "{name} has a sampling rate this app cannot use. Export it again at a common rate "
        "such as 16, 44.1 or 48 kHz.",
    ),
    (
        r"decode|corrupt|unsupported|truncat|clipp|damaged|not an audio",
        "{name} could not be read as audio: it is damaged, cut short, or not a sound file. "
        "Supported: WAV, FLAC, OGG/Opus and MP3 (M4A, AAC and WebM where ffmpeg is installed). "
        "Try exporting it again from the program that made it.",
    ),
)
# ValueErrors raised here are input checks (labels, templates, sizes); elsewhere they are faults.
_OUR_CODE = (Path(wavlink_core.__file__).parent, Path(__file__).parent)
_MAX_REMEMBERED = 512  # failure reasons waiting for their panel; API clients never collect theirs
_reasons: OrderedDict[tuple[str, str], str] = OrderedDict()
_reasons_lock = threading.Lock()


def scrub_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part (the file or folder name)."""
    return _PATH.sub(lambda m: re.split(r"[\\/]", m.group())[-1], text)


def _one_line(text: str) -> str:
    return " | ".join(line.strip() for line in str(text).splitlines() if line.strip())


def explain(exc: BaseException) -> str:
    """A sentence for people: what went wrong with which input, and what to do about it."""
    text = scrub_paths(_one_line(exc.message if isinstance(exc, gr.Error) else exc))
    if not isinstance(exc, AudioError):
        return text
    name, sep, reason = text.partition(": ")
    if not sep:
        name, reason = "The audio", text
    for pattern, sentence in _AUDIO_REASONS:
        if re.search(pattern, reason, re.IGNORECASE):
            seconds = re.search(r"([\d.]+) s >", reason)
            length = f" ({float(seconds.group(1)) / 60:.1f} minutes)" if seconds else ""
            # The sentence is ours; the file name is only an argument, never parsed as a format.
            return sentence.format(name=name, length=length)
    return text


def expected(exc: BaseException) -> bool:
    """True for a user error: bad input refused on purpose, not a fault in the app."""
    if isinstance(exc, (gr.Error, WavLinkError)):
        return True
    if not isinstance(exc, ValueError) or exc.__traceback__ is None:
        return False
    raised_in = Path(traceback.extract_tb(exc.__traceback__)[-1].filename)
    return any(raised_in.is_relative_to(folder) for folder in _OUR_CODE)


def _session() -> str | None:
    request = LocalContext.request.get(None)
    return getattr(request, "session_hash", None)


def _remember(slot: str, message: str) -> None:
    session = _session()
    if session is None:
        return
    with _reasons_lock:
        _reasons[(session, slot)] = message
        _reasons.move_to_end((session, slot))
        while len(_reasons) > _MAX_REMEMBERED:
            _reasons.popitem(last=False)


def _recall(session: str | None, slot: str) -> str | None:
    with _reasons_lock:
        return _reasons.pop((session, slot), None)


def warn(text: str) -> None:
    """A toast for a non-fatal problem (a shortened clip, a skipped file); ``text`` is escaped."""
    gr.Warning(escape.plain(scrub_paths(text)))


def guard(fn):
    """Wrap a handler: user errors → gr.Error with :func:`explain`'s sentence and one log line;
    anything else → a short gr.Error, with the traceback in the server log only."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - the boundary: keep the app alive, log the details
            if expected(e):
                log.warning(
                    "user error in %s: %s: %s", fn.__name__, type(e).__name__, _one_line(str(e))
                )
                message = explain(e)
                title = "Cannot use this audio" if isinstance(e, AudioError) else "Cannot do that"
            else:
                log.exception("handler %s failed", fn.__name__)
                message = (
                    f"Something went wrong on the server ({type(e).__name__}); the details are "
                    "in its log. Try again, or with another file."
                )
                title = "Error"
        _remember(fn.__name__, message)
        raise gr.Error(escape.plain(message), title=title, print_exception=False) from None

    return wrapper


def failure_panel(message: str | None) -> str:
    """Markdown shown where a result was after its run failed; ``message`` is escaped."""
    reason = escape.md(message) if message else "see the message at the top right."
    return f"### ⚠️ No result\n**The last run failed:** {reason}"


def show_failure(event, fn, outputs: list, cleared: tuple = ()) -> None:
    """When ``event`` (running the guarded ``fn``) fails, write the reason into ``outputs[0]`` (a
    Markdown) and ``cleared`` into the other outputs, so no stale result stays on screen."""

    def on_failure(request: gr.Request):
        panel = failure_panel(_recall(request.session_hash, fn.__name__))
        return (panel, *cleared) if cleared else panel

    event.failure(on_failure, None, outputs, api_visibility="private", queue=False)


def each(items: list, fn) -> tuple[list, list[str]]:
    """``[(item, fn(item))]`` for the items that work and a sentence for each that does not, so one
    bad file never sinks a batch; raises when none works."""
    done, failed, first = [], [], None
    for item in items:
        try:
            done.append((item, fn(item)))
        except Exception as e:  # noqa: BLE001 - re-raised unless it is the user's input
            if not expected(e):
                raise
            log.warning("user error, skipped: %s: %s", type(e).__name__, _one_line(str(e)))
            failed.append(explain(e))
            first = first or e
    if len(items) == 1 and first is not None:
        raise first
    if items and not done:
        raise ValueError(f"None of the {len(items)} files could be used. " + " ".join(failed))
    if failed:
        warn(f"Skipped {len(failed)} of {len(items)} files. " + " ".join(failed))
    return done, failed


def skipped_note(failed: list[str], total: int) -> str:
    """Markdown naming the files a batch skipped, or '' when none was."""
    if not failed:
        return ""
    items = "\n".join(f"- {escape.md(f)}" for f in failed)
    return f"**Skipped {len(failed)} of {total} files** (the others are in the result):\n{items}"
