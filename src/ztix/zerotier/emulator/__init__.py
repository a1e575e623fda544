"""An emulator of the zerotier-one 1.14 controller API (DESIGN §4 and §8).

zerotier-one is not packaged on the machines ZT-IX is tested on, so the tests and the
embedded default talk to this HTTP server instead. It follows the real controller
(``controller/EmbeddedNetworkController.cpp``, ``controller/DB.cpp``, ``controller/FileDB.cpp``,
``service/OneService.cpp``, ``osdep/OSUtils.cpp``) where ZT-IX can observe the difference:

- auth: ``X-ZT1-Auth`` header, else the ``auth`` query parameter, else ``Authorization:
  Bearer``; a wrong or missing token gets 401 with body ``{}``; only ``/health`` is open.
  Like 1.14.1, after a 401 to a request with a body the next request on the same keep-alive
  connection is answered 400 with an empty body (``empty_400_after_401``, on by default);
  and while it shuts down it answers 401 to everything, ``/health`` too
  (:meth:`ControllerEmulator.set_shutting_down`).
  Requests from outside loopback also need ``allow_management_from`` (``local.conf``).
- ``/status``, ``/controller`` (503 while the database is not ready), ``/controller/network``,
  ``POST /controller/network/{nwid}`` creates or updates *any* 16-hex ID (the real controller
  stores a foreign prefix without complaint and simply never serves it), ``POST
  /controller/network`` and ``POST /controller/network/{address}______`` create a network with
  a random suffix (400 when ``{address}`` is not the controller's), member list ``{"<id>":
  revision}`` (or the 1.12.x list of one-key objects, :attr:`ControllerEmulator.member_list_shape`),
  member GET/POST/DELETE; a POST to an unseen node creates (pre-authorizes) it.
- silent coercion exactly like ``OSUtils::jsonBool/jsonInt/jsonString``: ``"authorized": "yes"``
  stores false, ``"true"``/``"1"``/``1`` store true, names are stringified, an IP with a
  ``/bits`` suffix loses it, a string that is not an address is dropped; malformed JSON or a
  non-string in ``ipAssignments`` is a 500 ``{"error": 500, "description": ...}``.
- revisions count real changes only (``_compareRecords`` ignores ``revision``), so an
  identical POST leaves the revision alone.
- state under ``<home>/controller.d/network/<nwid>.json`` and
  ``.../<nwid>/member/<id>.json``, rewritten on every change and loaded at start;
  ``identity.public``, ``identity.secret`` and ``authtoken.secret`` in ``<home>``.

Known simplifications: while the database is not ready every ``/controller/...`` route answers
503 (the real one blocks inside ``waitForReady``); rule type ``INTEGER_RANGE`` is dropped; JSONP
is not supported.

Fault injection, settable from Python or over ``/_emulator/faults`` (same token; the real
controller has no such route): latency, the next N requests answering a given status, timing
out (held open, then closed unanswered) or dropping the TCP connection (RST), and the next N
member writes being altered after coercion (to prove clients read back what they wrote).

Run standalone: ``python -m ztix.zerotier.emulator --home var/zt-emulator --port 9993``.
"""

from ztix.zerotier.emulator.http import ControllerEmulator
from ztix.zerotier.emulator.records import apply_member_post, apply_network_post
from ztix.zerotier.emulator.state import Faults

__all__ = ["ControllerEmulator", "Faults", "apply_member_post", "apply_network_post"]
