"""Command-line flags for every SearchOptions field, derived from the dataclass so they never drift apart."""

from __future__ import annotations

import argparse
import math
import types
import typing
from dataclasses import fields
from typing import Any

from inferenceguard.service.engine.options import SearchOptions


def add_search_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("search options (method parameters)")
    hints = typing.get_type_hints(SearchOptions)
    for item in fields(SearchOptions):
        flag = "--" + item.name.replace("_", "-")
        kind = _base_type(hints[item.name])
        default = item.default
        shown = "unset" if default is None else ("inf" if default == math.inf else default)
        help_text = f"{item.metadata['help']} (default: {shown})"
        if kind is bool:
            group.add_argument(
                flag, dest=item.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            group.add_argument(
                flag, dest=item.name, type=kind, default=None, help=help_text, metavar=kind.__name__.upper()
            )


def options_from_args(args: argparse.Namespace) -> SearchOptions:
    """SearchOptions from the flags that were given; validation errors name the option."""
    given = {item.name: getattr(args, item.name) for item in fields(SearchOptions)}
    return SearchOptions(**{name: value for name, value in given.items() if value is not None})


def _base_type(hint: Any) -> type:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint if isinstance(hint, type) else str
