"""Example actors: small, tested, and shown in docs/actors.md."""
