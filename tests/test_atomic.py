"""Atomic writes: the new file appears whole, and a failed write leaves the old file and no temporary behind."""

import pytest

from mpkeras.atomic import atomic_write


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "sub" / "table.json"
    assert atomic_write(str(path), lambda f: f.write("old"), mode="w") == str(path)
    assert path.read_text() == "old"

    def half_then_fail(f):
        f.write("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="mid-write"):
        atomic_write(str(path), half_then_fail, mode="w")
    assert path.read_text() == "old"
    assert [p.name for p in path.parent.iterdir()] == ["table.json"]
    atomic_write(str(path), lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
