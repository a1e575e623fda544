"""The member directory (``GET /api/v1/directory`` and the Directory page)."""

from __future__ import annotations

from ztix.config.base import Strict


class DirectoryConfig(Strict):
    # False: only logged-in members and admins (and API tokens) see it; true: anyone, like
    # the IX-F export it is built from (it shows nothing the export does not, but the BGP
    # session state of each member on the route servers).
    public: bool = False
