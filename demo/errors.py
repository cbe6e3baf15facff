"""The one place where core exceptions become messages in the browser (never a stack trace)."""

from __future__ import annotations

import functools
import logging

import gradio as gr

from wavlink_core import WavLinkError

log = logging.getLogger("wavlink.demo")


def guard(fn):
    """Wrap a handler: WavLinkError/ValueError → gr.Error with the core's message; anything else → a
    short gr.Error (the traceback goes to the server log only)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (WavLinkError, ValueError) as e:
            raise gr.Error(str(e), title="Cannot do that") from None
        except Exception as e:  # noqa: BLE001 - the boundary: keep the app alive, log the details
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error(
                f"Something went wrong ({type(e).__name__}); see the server log."
            ) from None

    return wrapper
