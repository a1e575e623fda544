"""Answers an HTTP worker keeps, each with the version of the rows it was written from.

A member's list is read far more often than it changes (the app polls it), and writing a
page of a hundred items costs the database most of what the page costs (issue 17, P4). A
page is kept under its key (what the member asked for: their ASNs, statuses, limit and
offset) with the digest of its rows' versions read just *before* it
(``workflow.listing.member_version``); a later request reads the digest again, one cheap
statement, and gets the kept bytes only when it is the same. Reading the digest first
means a kept page is never older than its digest: a change committed in between makes the
page newer and the next digest different. Nothing is served on trust: a digest is read on
every request, so a change made by any process is seen at once.

Bounded by bytes, least recently used out first; each worker has its own."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class PageCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, tuple[str, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # handlers run on a pool of threads

    def get(self, key: Hashable, version: str) -> bytes | None:
        """The page kept under ``key`` if it was written at ``version``."""
        with self._lock:
            kept = self._pages.get(key)
            if kept is None or kept[0] != version:
                return None
            self._pages.move_to_end(key)
            return kept[1]

    def put(self, key: Hashable, version: str, body: bytes) -> None:
        """Keep ``body``, written from the rows at ``version``, under ``key``."""
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._pages[key] = (version, body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._pages.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._pages)
