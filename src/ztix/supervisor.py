"""`ztix serve`'s long-lived process: uvicorn's supervisor and nothing else.

`ztix serve` prepares the site (migrations, the controller's start-up gate, the initial
admin) with the whole of ZT-IX imported, then replaces itself (``exec``, same process ID,
so signals and a container's PID 1 are unchanged) with this module, which imports uvicorn
and the logging configuration only: the process that supervises the HTTP workers for the
site's lifetime holds no ORM, no migrations, no metrics code (issue 17, P6: 117 MiB before).
The HTTP workers are separate processes that import the app (``ztix.api.main``).

Its options come in ``ZTIX_SERVE`` (JSON), which it removes from the environment its
workers inherit.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any, NoReturn

ENV = "ZTIX_SERVE"

# ``import uvicorn`` imports its file-watching reloader's library (watchfiles, a Rust
# extension) when it is installed; ZT-IX never serves with reload. Its HTTP workers import
# this module first (multiprocessing's spawn imports the parent's main module before
# uvicorn), so neither the supervisor nor a worker loads it (issue 17, P6: ~0.7 MiB each;
# uvicorn falls back to its stat reloader, which it does not use either).
sys.modules.setdefault("watchfiles", None)  # type: ignore[arg-type]


def exec_supervisor(options: dict[str, Any]) -> NoReturn:
    """Replace this process with the supervisor (does not return)."""
    os.environ[ENV] = json.dumps(options)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", __name__])  # noqa: S606 (no shell: argv)


def run(options: dict[str, Any]) -> None:
    import uvicorn

    from ztix.logs import logging_config

    try:
        uvicorn.run(
            "ztix.api.main:app",
            factory=False,
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            proxy_headers=False,
            log_level=options["log_level"].lower(),
            # JSON lines in every HTTP worker process too, uvicorn's own loggers included.
            log_config=logging_config(
                options["log_level"], json=bool(options.get("json_logs", True))
            ),
        )
    finally:
        if options.get("remove_dir"):
            shutil.rmtree(options["remove_dir"], ignore_errors=True)


def main() -> None:
    run(json.loads(os.environ.pop(ENV)))


if __name__ == "__main__":
    main()
