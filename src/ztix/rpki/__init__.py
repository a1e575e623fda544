"""RPKI data read by the control plane itself (the route servers get theirs over RTR)."""
