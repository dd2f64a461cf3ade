"""The method registry: every capability is a named method registered under a task.

The app's tabs, the CLI, the benchmarks and the evaluation scripts all read this registry, so a
new method shows up everywhere once it is registered here.

A task fixes what a method is called with; a method adds its own keyword parameters:

- ``recolor``: ``run(image, source_palette, target_palette, **params)``. Palettes are (k, 3)
  sRGB arrays in [0, 1]; entry i of the source palette is moved to entry i of the target.
  ``prepare(image, source_palette, **params)`` returns a function of ``target_palette`` that does
  only the per-edit work, for live editing; a method that has it gets ``run`` for free.
- ``colorize``: ``run(image, hints=None, **params)``. ``image`` is (H, W, 3) or (H, W) in
  [0, 1] (colours are ignored); ``hints`` a :class:`colorlab.colorize.hints.Hints` at the
  image's resolution, for methods that take them. Returns (H, W, 3) sRGB with the input's L.
- ``stylize``: ``run(content, style, **params)``. Both (H, W, 3) sRGB in [0, 1], of any sizes;
  returns (H, W, 3) sRGB of the content's size. Every method takes ``strength`` in [0, 1] (0
  returns the content) and ``preserve_lightness`` (keep the content's L, change colours only).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from colorlab.errors import InvalidParameterError, MethodUnavailableError, UnknownMethodError

TASKS: dict[str, str] = {
    "recolor": "Move an image's palette to new colours.",
    "colorize": "Colour a grayscale image, optionally guided by colour hints.",
    "stylize": "Give an image the colours or the style of another image.",
}


@dataclass(frozen=True)
class Param:
    """One user-settable parameter of a method, with what a UI or CLI needs to offer it."""

    name: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None

    def validate(self, value: Any) -> Any:
        """Coerce ``value`` to the default's type and check its range; raise a clear error."""
        kind = type(self.default)
        if kind is bool and isinstance(value, str):  # bool("false") is True: spell it out
            words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            if value.strip().lower() not in words:
                raise InvalidParameterError(
                    f"parameter {self.name!r} must be true or false, got {reprlib.repr(value)}"
                )
            return words[value.strip().lower()]
        try:
            value = kind(value)
        except (TypeError, ValueError, OverflowError):
            raise InvalidParameterError(
                f"parameter {self.name!r} must be a {kind.__name__}, got {reprlib.repr(value)}"
            ) from None
        if kind is float and not math.isfinite(value):
            raise InvalidParameterError(f"parameter {self.name!r} must be finite, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise InvalidParameterError(
                f"parameter {self.name!r} must be one of {list(self.choices)}, "
                f"got {reprlib.repr(value)}"
            )
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise InvalidParameterError(
                f"parameter {self.name!r} must be in [{self.minimum}, {self.maximum}], "
                f"got {value!r}"
            )
        return value

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "help": self.help,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices) if self.choices is not None else None,
        }


@dataclass(frozen=True)
class Method:
    """A named image-to-image function of a task, with its parameters and a short description."""

    task: str
    name: str
    title: str
    summary: str
    run: Callable[..., Any] | None = None
    params: tuple[Param, ...] = ()
    prepare: Callable[..., Callable[..., Any]] | None = field(default=None, compare=False)
    unavailable: Callable[[], str | None] | None = field(default=None, compare=False)
    # The long how-to behind a short unavailable reason (where the weights come from), for the
    # docs, ``methods --json`` and the app's collapsed help block.
    details: Callable[[], str] | None = field(default=None, compare=False)
    # What callers need to know to offer the method, said here rather than guessed from names
    # or signatures: colorize methods that take hints; long runs (minutes: run also takes
    # ``progress(step, total)`` and a ``cancel`` threading.Event, and a UI runs them on
    # request with a progress bar, an arena not at all); the boolean parameter that keeps
    # the content's colours or lightness (the app's one checkbox).
    takes_hints: bool = False
    long_running: bool = False
    preserve: str | None = None

    def unavailable_reason(self) -> str | None:
        """Why the method cannot run here (e.g. weights that cannot be had), or None if it can.

        Methods that need something beyond the package (network weights) say so up front, so
        the app can show them as unavailable with that reason instead of failing on use.
        """
        return self.unavailable() if self.unavailable is not None else None

    def check_available(self) -> None:
        """Raise :class:`MethodUnavailableError` with the reason if the method cannot run here."""
        reason = self.unavailable_reason()
        if reason is not None:
            raise MethodUnavailableError(
                f"the {self.task} method {self.name!r} is unavailable here: {reason}"
            )

    def __post_init__(self) -> None:
        if self.preserve is not None and self.preserve not in {p.name for p in self.params}:
            raise ValueError(f"method {self.name!r}: preserve names no parameter {self.preserve!r}")
        if self.run is None:
            if self.prepare is None:
                raise ValueError(f"method {self.name!r} needs run or prepare")
            object.__setattr__(self, "run", _run_prepared(self.prepare))

    def resolve_params(self, **given: Any) -> dict[str, Any]:
        """Defaults overlaid with ``given``, each validated; unknown names are an error."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise InvalidParameterError(
                f"method {self.name!r} has no parameter {unknown[0]!r}; "
                f"it takes {sorted(known) or 'no parameters'}"
            )
        return {
            name: param.validate(given[name]) if name in given else param.default
            for name, param in known.items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "params": [p.to_dict() for p in self.params],
            "interactive": self.prepare is not None,
            "takes_hints": self.takes_hints,
            "long_running": self.long_running,
            "preserve": self.preserve,
            "unavailable": self.unavailable_reason(),
            "details": self.details() if self.details is not None else None,
        }


def _run_prepared(prepare: Callable[..., Callable[..., Any]]) -> Callable[..., Any]:
    """A one-shot run from a prepare function: prepare, then apply to the one target."""

    def run(image: Any, source_palette: Any, target_palette: Any, **params: Any) -> Any:
        return prepare(image, source_palette, **params)(target_palette)

    return run


_REGISTRY: dict[tuple[str, str], Method] = {}


def register(method: Method) -> Method:
    """Add a method to the registry; a task must exist and names must be unique within it."""
    if method.task not in TASKS:
        raise ValueError(f"unknown task {method.task!r}; tasks are {sorted(TASKS)}")
    key = (method.task, method.name)
    if key in _REGISTRY:
        raise ValueError(f"method {method.name!r} is already registered for {method.task!r}")
    _REGISTRY[key] = method
    return method


def _load_builtin_methods() -> None:
    # Importing a method module registers it; done lazily so `import colorlab` stays light.
    import colorlab.colorize  # noqa: F401
    import colorlab.recolor  # noqa: F401
    import colorlab.stylize  # noqa: F401


def get_method(task: str, name: str) -> Method:
    """The method ``name`` of ``task``; the error lists what is available."""
    _load_builtin_methods()
    if not isinstance(task, str) or task not in TASKS:
        raise UnknownMethodError(f"unknown task {reprlib.repr(task)}; tasks are {sorted(TASKS)}")
    try:
        return _REGISTRY[(task, name)]
    except (KeyError, TypeError):  # TypeError: a name that is not even a string
        names = [m.name for m in list_methods(task)]
        raise UnknownMethodError(
            f"no {task} method named {reprlib.repr(name)}; available: {', '.join(names)}"
        ) from None


def list_methods(task: str | None = None) -> list[Method]:
    """Registered methods, of one task or of all, in registration order."""
    _load_builtin_methods()
    return [m for m in _REGISTRY.values() if task is None or m.task == task]
