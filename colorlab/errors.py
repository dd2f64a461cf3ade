"""One exception hierarchy whose messages tell a user what went wrong and what to do.

The UI shows these messages as they are and the CLI prints them without a traceback, so every
message names the bad value and, where there is one, the fix.
"""


class ColorLabError(Exception):
    """Base class of every error ColorLab raises on purpose (bad input, missing files, ...)."""


class ImageLoadError(ColorLabError):
    """The input is not a readable image: not an image at all, truncated or corrupt."""


class ImageSaveError(ColorLabError):
    """The image could not be written (missing folder, no permission, disk full, ...)."""


class EmptyImageError(ColorLabError):
    """The image has zero width or height."""


class ImageTooLargeError(ColorLabError):
    """The image has more pixels than the configured limit (guards against decompression bombs)."""


class InvalidColorError(ColorLabError, ValueError):
    """A colour could not be parsed (bad hex string) or is out of range."""


class InvalidParameterError(ColorLabError, ValueError):
    """A parameter is out of its documented range or of the wrong kind."""


class UnknownMethodError(ColorLabError, LookupError):
    """No method of that name is registered for the task."""


class CheckpointError(ColorLabError):
    """Model weights are unusable: files missing, corrupt, pickled, or not matching the model."""


class ModelNotFoundError(CheckpointError):
    """No copy of a model's weights was found locally, in the Hub cache or on the Hub."""


class MethodUnavailableError(ColorLabError):
    """The method cannot run here (e.g. its weights cannot be had); the message says why."""


class Cancelled(ColorLabError):
    """The user stopped a long run (neural style) before it finished; nothing was produced."""
