"""The per-connection actor: transport, outbox, rate limit."""
