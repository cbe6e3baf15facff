"""Exception types of wavlink_core: one base class, one subclass per failure family."""

from __future__ import annotations


class WavLinkError(Exception):
    """Base class of every error raised on purpose by wavlink_core."""


class AudioError(WavLinkError, ValueError):
    """Audio that cannot be used: unreadable, empty, silent, non-finite or too long.

    The message always names the source (file path or ``<array>``) and the reason.
    """


class ConfigError(WavLinkError, ValueError):
    """A configuration value or a requested size that is not valid; the message lists the valid ones."""


class CheckpointError(WavLinkError):
    """Weights that cannot be found, parsed or loaded strictly into the model."""
