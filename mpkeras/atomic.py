"""Atomic file writes: a file is written under a temporary name in its directory, then renamed into place.

``os.replace`` is atomic on POSIX, so a reader (or a run killed mid-write) sees either the old file or the
whole new one, never a half-written one. Imports only the standard library, so any module can use it.
"""

import os


def atomic_write(path, write, mode="wb"):
    """Calls ``write(f)`` on a temporary file opened with ``mode``, then renames it to ``path``; returns ``path``.

    Example:
        >>> atomic_write("table.npz", lambda f: np.savez(f, q=q))
        >>> atomic_write("metrics.json", lambda f: f.write(text), mode="w")
    """
    directory, base = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{base}.tmp-{os.getpid()}")
    try:
        with open(tmp, mode) as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
