"""PeeringDB's network data (REST API): max-prefix hints, AS-SETs, route-server policy."""
