"""AtomicDir: a folder appears whole or not at all; a cache entry, once in place, stays."""

from __future__ import annotations

import os

import pytest

from xstilts.artifacts import AtomicDir


def build_while_another_finishes(final, first_wins: bool):
    """Build `final` while another process renames its own copy into place first."""
    with AtomicDir(final, first_wins=first_wins) as tmp:
        (tmp / "data.txt").write_text("mine")
        theirs = final.with_name("theirs")
        theirs.mkdir()
        (theirs / "data.txt").write_text("theirs")
        os.rename(theirs, final)
        inode = final.stat().st_ino
    return inode


def test_a_cache_entry_in_place_stays_and_the_later_copy_is_dropped(tmp_path):
    final = tmp_path / "entry"
    inode = build_while_another_finishes(final, first_wins=True)
    # The very folder a reader may be reading: neither replaced nor moved aside.
    assert final.stat().st_ino == inode and (final / "data.txt").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]  # no temp left


def test_a_checkpoint_is_replaced_by_the_newer_version(tmp_path):
    final = tmp_path / "last"
    build_while_another_finishes(final, first_wins=False)
    assert (final / "data.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]


def test_a_cache_entry_is_renamed_into_place_when_none_is_there(tmp_path):
    final = tmp_path / "sub" / "entry"
    with AtomicDir(final, first_wins=True) as tmp:
        (tmp / "data.txt").write_text("mine")
        assert not final.exists()
    assert (final / "data.txt").read_text() == "mine"
    assert sorted(p.name for p in final.parent.iterdir()) == ["entry"]


def test_a_failed_build_leaves_nothing(tmp_path):
    final = tmp_path / "entry"
    with pytest.raises(RuntimeError), AtomicDir(final, first_wins=True) as tmp:
        (tmp / "data.txt").write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
