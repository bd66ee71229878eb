"""The echo handler: `{"type": "echo", "data": X, "id": I}` is answered with
`{"type": "echo", "data": X, "ref": I}` on the same connection.

Stateless, so it is a connection-local handler rather than an actor: each connection
answers its own echo frames in its reader task, with no hop to another task and no
single actor that every connection would queue for. It is the shortest path through
the full stack (transport, protocol, routing, outbox, writer): the benchmarks measure
Tether with it.
"""

from __future__ import annotations

from tether.actors.routing import Inbound


def echo(message: Inbound) -> None:
    reply = {"data": message.body.get("data")}
    if message.id is not None:
        reply["ref"] = message.id
    message.peer.reply("echo", reply)
