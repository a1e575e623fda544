"""The deployed-set manifest: which files an apply may trust, link, or must upload."""

from __future__ import annotations

from ztix.routeserver.manifest import FileStat, Manifest, build, plan
from ztix.routeserver.model import files_hash

FILES = {"ztix.conf": "main\n", "peers/a.conf": "a\n", "peers/b.conf": "b\n"}
STATS = {path: FileStat(size=len(text), mtime=1_700_000_000) for path, text in FILES.items()}


def test_a_manifest_round_trips_and_garbage_is_no_manifest() -> None:
    manifest = build(FILES, STATS)
    assert manifest.set_hash == files_hash(FILES)
    assert Manifest.parse(manifest.to_text()) == manifest
    for text in ("", "{}", "[1]", '{"version": 2, "set_hash": "x", "files": {}}', "nope"):
        assert Manifest.parse(text) is None
    assert Manifest.parse('{"version": 1, "set_hash": "x", "files": {"a": [1]}}') is None


def test_the_same_set_is_known_without_reading_it() -> None:
    known = plan(FILES, STATS, build(FILES, STATS))
    assert known.trusted and known.same and known.previous_hash == files_hash(FILES)
    assert known.reuse == set(FILES)


def test_changed_added_and_removed_files_are_not_reused() -> None:
    new = {"ztix.conf": "main\n", "peers/a.conf": "a2\n", "peers/c.conf": "c\n"}
    known = plan(new, STATS, build(FILES, STATS))
    assert known.trusted and not known.same
    assert known.previous_hash == files_hash(FILES)
    assert known.reuse == {"ztix.conf"}


def test_a_file_whose_size_or_time_changed_is_not_trusted() -> None:
    touched = {**STATS, "peers/b.conf": FileStat(size=2, mtime=1_700_000_001)}
    known = plan(FILES, touched, build(FILES, STATS))
    assert not known.trusted and not known.same and known.previous_hash is None
    assert known.reuse == {"ztix.conf", "peers/a.conf"}  # still provably equal


def test_an_unlisted_file_or_a_missing_manifest_trusts_nothing() -> None:
    extra = {**STATS, "peers/stray.conf": FileStat(size=1, mtime=1)}
    assert not plan(FILES, extra, build(FILES, STATS)).trusted
    missing = plan(FILES, STATS, None)
    assert not missing.trusted and missing.reuse == set()


def test_nothing_deployed_is_a_first_apply() -> None:
    known = plan(FILES, {}, None)
    assert known.trusted and not known.same and known.previous_hash is None
