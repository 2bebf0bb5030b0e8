"""The atomic file writer of imbalance_xfmr.data.io: whole files or none, replacing, usual permissions."""

import os
import stat

import pandas as pd
import pytest

from imbalance_xfmr.data.io import atomic_open, write_bytes, write_csv, write_json, write_text


class Boom(Exception):
    pass


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("existing", [None, b"old content"])
def test_atomic_write_leaves_no_partial_file_on_an_exception(tmp_path, existing):
    path = tmp_path / "out.csv"
    if existing is not None:
        path.write_bytes(existing)
    with pytest.raises(Boom):
        with atomic_open(path, "wb") as handle:
            handle.write(b"half of the new ")
            raise Boom
    assert (path.read_bytes() if path.exists() else None) == existing
    assert leftovers(tmp_path) == []


def test_atomic_writers_write_and_replace(tmp_path):
    write_bytes(tmp_path / "b.bin", b"\x00\x01")
    write_text(tmp_path / "t.txt", "line\nnext\n")
    write_text(tmp_path / "t.txt", "replaced\n")
    write_json(tmp_path / "j.json", {"b": 1, "a": [1, 2]})
    frame = pd.DataFrame({"id": ["a", "b"], "p": [0.1, 1 / 3]})
    write_csv(tmp_path / "f.csv", frame)
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_bytes() == b"replaced\n"
    assert (tmp_path / "j.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert (tmp_path / "f.csv").read_bytes() == b"id,p\na,0.1\nb,0.3333333333333333\n"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "f.csv"), frame)
    assert leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="mode must be"):
        with atomic_open(tmp_path / "x", "a"):
            pass
    assert not (tmp_path / "x").exists()


def test_text_is_utf8_with_unix_line_endings_and_the_parent_is_created(tmp_path):
    path = tmp_path / "new" / "deeper" / "t.txt"
    write_text(path, "héllo\nwörld\n")
    assert path.read_bytes() == "héllo\nwörld\n".encode("utf-8")


def test_csv_write_failing_midway_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.csv"
    write_csv(path, pd.DataFrame({"a": [1]}))

    class Unprintable:
        def __str__(self):
            raise Boom

    with pytest.raises(Boom):
        write_csv(path, pd.DataFrame({"a": [1, Unprintable()]}))
    assert path.read_bytes() == b"a\n1\n" and leftovers(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_files_get_the_usual_permissions_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "t.txt", "x")
        write_bytes(tmp_path / "b.bin", b"x")
    finally:
        os.umask(old)
    for name in ("t.txt", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
