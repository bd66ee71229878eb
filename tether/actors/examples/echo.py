"""The echo actor: `{"type": "echo", "data": X, "id": I}` → `{"type": "echo", "data": X, "ref": I}`.

Stateless, it is the shortest path through the full stack: the
benchmarks measure Tether with it.
"""

from __future__ import annotations

import attrs

from tether.actors.routing import Inbound, RoutedActor


@attrs.define
class Echo(RoutedActor):
    mailbox_size = 1024

    async def on_frame(self, message: Inbound) -> None:
        body = message.body
        reply = {"data": body.get("data")}
        if message.id is not None:
            reply["ref"] = message.id
        message.peer.reply("echo", reply)
