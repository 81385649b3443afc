"""Command-line flags checked when they are parsed, and the one place user errors become one line.

Every numeric flag of every recipe takes one of the range-checked ``type=`` callables below, so a
bad value ends as argparse ends it, in one line with exit status 2::

    mpkeras train vae: error: argument --epochs: expected a positive integer, got 0

Each callable carries a ``range`` attribute (what it accepts); ``tests/test_flags.py`` fails for a
numeric flag without one. :func:`entry_point` runs a recipe and prints the :class:`UserError`s
(and missing files) it raises the same way, unless ``--debug`` is given.

Example::

    p = ArgumentParser(prog="mpkeras train vae")
    p.add_argument("--latent-dim", type=positive_int, default=16)
    p.parse_args(["--latent-dim", "0"])  # prints the one line and exits with status 2
"""

import argparse
import math
import os
import sys

from mpkeras.errors import UserError

USER_ERRORS = (UserError, FileNotFoundError)
"""What :func:`entry_point` prints as one line: errors the user fixes, and paths that do not exist."""


def _shown(text):
    return text if text.strip() else repr(text)


def _range_type(parse, accepts, description):
    """An argparse type: ``parse(text)`` (ValueError: not a number), kept if ``accepts(value)``."""

    def convert(text):
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not accepts(value):
            raise argparse.ArgumentTypeError(f"expected {description}, got {_shown(text)}")
        return value

    convert.range = description
    return convert


def _bound(value):
    return "inf" if value == math.inf else f"{value:g}"


def int_range(low, high=None, description=None):
    """An argparse type for integers in ``[low, high]`` (``high`` None: no upper bound)."""
    description = description or (f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]")
    return _range_type(int, lambda v: v >= low and (high is None or v <= high), description)


def float_range(low=-math.inf, high=math.inf, *, low_open=False, high_open=False, description=None):
    """An argparse type for finite floats in the interval from ``low`` to ``high`` (open ends as asked)."""
    interval = f"{'(' if low_open else '['}{_bound(low)}, {_bound(high)}{')' if high_open else ']'}"
    description = description or f"a number in {interval}"

    def accepts(v):
        return (math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high))

    return _range_type(float, accepts, description)


positive_int = int_range(1, description="a positive integer")
nonnegative_int = int_range(0, description="a non-negative integer")
seed = int_range(0, 2**32 - 1)
"""NumPy's seeds are 32-bit unsigned integers."""
positive_float = float_range(0, low_open=True, description="a positive number")
nonnegative_float = float_range(0, description="a non-negative number")
probability = float_range(0, 1)
"""[0, 1]: probabilities, and fractions such as augmentation strengths."""
rate = float_range(0, 1, high_open=True)
"""[0, 1): dropout rates and Adam's decay rates, where 1 is degenerate."""


def int_tuple(text):
    """Layer widths: ``"512,256"`` -> ``(512, 256)``, each positive."""
    try:
        widths = tuple(int(u) for u in text.split(","))
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers like 512,256, got {_shown(text)}")
    return widths


int_tuple.range = "comma-separated positive integers"


def int_tuple_or_none(text):
    """Optional layer widths: ``"32,64"`` -> ``(32, 64)``; ``"none"`` -> ``()`` (no such layers)."""
    return () if text.strip().lower() == "none" else int_tuple(text)


int_tuple_or_none.range = "comma-separated positive integers, or none"


def comma_choices(choices):
    """An argparse type for one name or several comma-separated names, each one of ``choices``."""

    def convert(text):
        names = tuple(text.split(","))
        unknown = [n for n in names if n not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(map(repr, unknown))}; choose from "
                                             f"{', '.join(choices)} (one, or one per layer, comma-separated)")
        return names

    convert.range = f"comma-separated names of {', '.join(choices)}"
    return convert


def existing_file(text):
    """An argparse type for the path of a file that exists."""
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no file at {text!r}")
    return text


existing_file.range = "an existing file"


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose errors are one line, ``PROG: error: MESSAGE``, exit status 2, no usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_debug_argument(p):
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of errors that are otherwise printed as one line")


def one_line(error):
    """The message of ``error`` with its whitespace (newlines too) collapsed."""
    return " ".join(str(error).split()) or type(error).__name__


def entry_point(prog, parse, run, argv=None):
    """``run(parse(argv))``, with :data:`USER_ERRORS` printed as ``PROG: error: MESSAGE`` and exit status 2.

    The one place where ``python recipes/NAME.py`` and ``mpkeras train NAME`` turn an error the user
    can fix into one line. With ``--debug`` such errors keep their traceback; other exceptions (bugs)
    always do.

    Args:
        prog: the program's name in the message, e.g. ``"mpkeras train vae"``.
        parse: ``argv -> args``; its parser should be an :class:`ArgumentParser` with ``--debug``.
        run: ``args -> result``.
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        What ``run`` returns.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv  # until the arguments are parsed
    try:
        args = parse(argv)
        debug = bool(getattr(args, "debug", debug))
        return run(args)
    except USER_ERRORS as e:
        if debug:
            raise
        print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
        raise SystemExit(2) from None
