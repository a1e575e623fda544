"""``python -m ztix.zerotier.emulator``: run the emulator standalone."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from ztix.zerotier.emulator.http import ControllerEmulator
from ztix.zerotier.emulator.records import MemberListShape

# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ZeroTier controller API emulator")
    parser.add_argument("--home", type=Path, required=True, help="state directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9993)
    parser.add_argument("--member-list-shape", choices=("map", "list"), default="map")
    parser.add_argument("--allow-management-from", action="append", default=[], metavar="CIDR")
    args = parser.parse_args(argv)
    token = os.environ.get("ZTIX_EMULATOR_TOKEN") or None
    emulator = ControllerEmulator(
        args.home,
        args.host,
        args.port,
        token,
        member_list_shape=cast(MemberListShape, args.member_list_shape),
        allow_management_from=args.allow_management_from,
    )
    emulator.run_forever()


if __name__ == "__main__":
    main()
