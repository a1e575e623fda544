"""``make lab``: the whole exchange on one machine, with real member routers (a dev tool).

Network namespaces joined by a Linux bridge stand in for the ZeroTier peering LAN: route
servers (BIRD 2, each with StayRTR on its namespace's loopback) and member routers (BIRD 2)
each in a namespace, ZT-IX itself (``ztix serve`` with the controller emulator) in the root
namespace on 127.0.0.1. Members are created through the public HTTP API like a person would
(log in, file the request, an admin approves). Not part of the product's runtime layers:
nothing in ``ztix`` but ``ztix.cli.lab`` imports it.

``plan`` (what the lab holds), ``netns`` (namespaces, links, processes), ``files`` (the
configurations it writes), ``client`` (the HTTP API as a person uses it), ``summary``
(sessions and routes read with birdc), ``runner`` (up, down, status).
"""
