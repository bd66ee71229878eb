"""Client processes, driven by the harness over stdin/stdout.

Each client runs in its own process (never in the server's), prints one JSON
object per line on stdout, and bounds every wait with a deadline so that a
server that stops answering makes the client exit with `{"error": ...}` instead
of hanging.
"""
