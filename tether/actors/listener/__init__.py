"""The listener: accepts sockets, checks handshakes, admits or refuses them."""
