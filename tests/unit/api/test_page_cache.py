"""The HTTP worker's kept pages (``api/page_cache.py``): bounded by bytes, least recently
used out first, a page answered only for the version it was written at. Whether a version
follows every change is ``tests/api/test_member_page_cache.py``."""

from __future__ import annotations

from ztix.api.page_cache import PageCache


def test_the_cache_keeps_at_most_its_bytes_least_recently_used_out_first() -> None:
    cache = PageCache(max_bytes=10)
    cache.put("a", "v1", b"aaaa")
    cache.put("b", "v1", b"bbbb")
    assert cache.get("a", "v1") == b"aaaa"  # now the most recent
    cache.put("c", "v1", b"cccc")  # 12 bytes: "b" goes
    assert cache.get("b", "v1") is None
    assert cache.get("a", "v1") == b"aaaa" and cache.get("c", "v1") == b"cccc"
    assert cache.get("a", "v2") is None  # another version: not this page
    cache.put("a", "v2", b"AA")  # replaces, bytes counted once
    assert cache.get("a", "v2") == b"AA" and len(cache) == 2
    cache.put("big", "v1", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("big", "v1") is None and len(cache) == 2
