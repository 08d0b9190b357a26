"""A name → object registry with a decorator, used for datasets, profiles,
classifiers, samplers and methods (in the style of timm's ``register_model``)."""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind.

    Parameters
    ----------
    kind : str
        What the entries are ("dataset", "profile", ...); used in error messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._renamed: dict[str, str] = {}

    def register(self, name: str, obj: T | None = None):
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} name={name!r} must be a non-empty string")

        def add(entry: T) -> T:
            if name in self._entries or name in self._renamed:
                raise ValueError(f"{self.kind} {name!r} is already registered; pick another name")
            self._entries[name] = entry
            return entry

        return add if obj is None else add(obj)

    def rename(self, old: str, new: str) -> None:
        """Let the former name ``old`` keep reaching the entry now registered as ``new``.

        :meth:`get` and :meth:`resolve` then warn (``FutureWarning``) and name ``new``;
        ``old in registry`` stays true, :meth:`names` lists only ``new``.
        """
        if new not in self._entries:
            raise ValueError(f"{self.kind} {new!r} is not registered; register it before renaming")
        if old in self._entries or old in self._renamed:
            raise ValueError(f"{self.kind} {old!r} is already registered; pick another name")
        self._renamed[old] = new

    def renamed(self) -> dict[str, str]:
        """``{former name: current name}`` of every rename."""
        return dict(self._renamed)

    def resolve(self, name: str, *, stacklevel: int = 2) -> str:
        """The current name of ``name``: itself, or the new name of a former one (warning)."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name={name!r} must be a string")
        new = self._renamed.get(name)
        if new is None:
            return name
        warnings.warn(
            f"{self.kind} {name!r} is now called {new!r}; use {new!r} (the former name will be "
            "removed)",
            FutureWarning,
            stacklevel=stacklevel + 1,
        )
        return new

    def get(self, name: str) -> T:
        """Return the entry named ``name`` or raise with the closest names.

        A former name (:meth:`rename`) returns its entry with a ``FutureWarning``.
        """
        name = self.resolve(name, stacklevel=2)
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=3)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise ValueError(
                f"unknown {self.kind} {name!r}{hint}; known: {', '.join(sorted(self._entries))}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._renamed

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
