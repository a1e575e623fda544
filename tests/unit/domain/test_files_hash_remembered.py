"""files_hash remembers the last set it hashed (per thread); the answer never depends on it."""

from __future__ import annotations

import hashlib

from ztix.domain.routeserver import files_hash


def _plain(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        name, body = path.encode(), files[path].encode()
        digest.update(b"%d:%s\0%d:%s\0" % (len(name), name, len(body), body))
    return digest.hexdigest()


def test_the_hash_follows_the_content_not_the_last_answer() -> None:
    files = {"ztix.conf": "main\n", "peers/a.conf": "a\n" * 50}
    first = files_hash(files)
    assert first == _plain(files)
    assert files_hash(dict(files)) == first  # a copy: the same strings
    assert files_hash({k: "".join(list(v)) for k, v in files.items()}) == first  # equal text
    changed = {**files, "peers/a.conf": "b\n" * 50}  # same length, other text
    assert files_hash(changed) == _plain(changed) != first
    renamed = {"ztix.conf": files["ztix.conf"], "peers/b.conf": files["peers/a.conf"]}
    assert files_hash(renamed) == _plain(renamed) != first
    fewer = {"ztix.conf": files["ztix.conf"]}
    assert files_hash(fewer) == _plain(fewer)
    assert files_hash(files) == first
