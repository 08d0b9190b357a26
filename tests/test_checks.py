"""The shared argument checks and the atomic writes."""

import os

import numpy as np
import pytest

from deepbalance._checks import atomic_write_bytes, atomic_write_text, check_random_state


def test_check_random_state_none_is_numpy_global_state():
    assert check_random_state(None) is np.random.mtrand._rand
    np.random.seed(3)  # noqa: NPY002  (the global state is what is tested)
    a = check_random_state(None).rand(4)
    np.random.seed(3)  # noqa: NPY002  (the global state is what is tested)
    np.testing.assert_array_equal(check_random_state(None).rand(4), a)


def test_check_random_state_ints_and_instances():
    rs = np.random.RandomState(1)
    assert check_random_state(rs) is rs
    np.testing.assert_array_equal(
        check_random_state(np.int64(5)).rand(3), np.random.RandomState(5).rand(3)
    )


@pytest.mark.parametrize(
    "seed, error, match",
    [
        (-1, ValueError, r"random_state=-1 must be in \[0, 2\*\*32\)"),
        (2**32, ValueError, "must be in"),
        (True, TypeError, "random_state=True must be None, an int"),
        (1.5, TypeError, "random_state=1.5 must be None"),
        (np.random.default_rng(0), TypeError, "pass e.g. random_state=0"),
    ],
)
def test_check_random_state_rejects(seed, error, match):
    with pytest.raises(error, match=match):
        check_random_state(seed)


def _record_fsync_and_replace(monkeypatch, module_os):
    """Record, in order, which paths os.fsync flushed and which renames os.replace did."""
    events = []
    real_fsync, real_replace, real_open = os.fsync, os.replace, os.open
    opened = {}

    def fake_open(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        opened[fd] = os.fspath(path)
        return fd

    def fake_fsync(fd):
        events.append(("fsync", opened.get(fd, fd)))
        return real_fsync(fd)

    def fake_replace(src, dst):
        events.append(("replace", os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(module_os, "open", fake_open)
    monkeypatch.setattr(module_os, "fsync", fake_fsync)
    monkeypatch.setattr(module_os, "replace", fake_replace)
    return events


def test_atomic_write_fsyncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    import deepbalance._checks as checks

    events = _record_fsync_and_replace(monkeypatch, checks.os)
    target = tmp_path / "out" / "result.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    kinds = [e[0] for e in events]
    assert kinds.count("replace") == 1
    rename = kinds.index("replace")
    tmp = events[rename][1]
    assert ("fsync", tmp) in events[:rename]  # the temporary file's data is on disk first
    if os.name != "nt":
        assert ("fsync", str(target.parent)) in events[rename:]  # then the rename itself


def test_atomic_write_failure_leaves_nothing(tmp_path, monkeypatch):
    import deepbalance._checks as checks

    def broken(fd):
        raise OSError("disk full")

    monkeypatch.setattr(checks.os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(tmp_path / "x.bin", b"data")
    assert list(tmp_path.iterdir()) == []
