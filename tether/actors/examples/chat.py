"""A small chat room: state (each room's recent history), topics and replies in one actor.

Frames (all may carry an `id`, acknowledged or answered with `ref`):
* `{"type": "chat.join", "room": R}`: subscribe to the room's topic `chat:R`;
* `{"type": "chat.say", "room": R, "text": T}`: publish `{"user", "text"}` to `chat:R`;
* `{"type": "chat.history", "room": R}`: answered with
  `{"type": "chat.history", "room": R, "messages": [...], "ref": I}`, oldest first.
"""

from __future__ import annotations

import re
from collections import deque

import attrs

from tether.actors.manager import MANAGER, TopicPublish, TopicSubscribe
from tether.actors.routing import Inbound, RoutedActor
from tether.protocol import ErrorCode

ROOM = re.compile(r"[A-Za-z0-9_\-]{1,64}")
MAX_TEXT = 2000
HISTORY = 50


@attrs.define
class ChatRoom(RoutedActor):
    mailbox_size = 1024
    history: dict[str, deque[dict[str, str]]] = attrs.Factory(dict)

    async def on_frame(self, message: Inbound) -> None:
        room = message.body.get("room")
        if not isinstance(room, str) or not ROOM.fullmatch(room):
            message.fail(
                ErrorCode.INVALID_FRAME, "field 'room' must be 1-64 letters, digits, - or _"
            )
            return
        if message.type == "chat.join":
            await self.lookup(MANAGER).tell(
                TopicSubscribe(message.peer, f"chat:{room}", ref=message.id)
            )
        elif message.type == "chat.say":
            await self._say(message, room)
        else:
            messages = list(self.history.get(room, ()))
            body: dict[str, object] = {"room": room, "messages": messages}
            if message.id is not None:
                body["ref"] = message.id
            message.peer.reply("chat.history", body)

    async def _say(self, message: Inbound, room: str) -> None:
        text = message.body.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT:
            message.fail(ErrorCode.INVALID_FRAME, f"field 'text' must be 1-{MAX_TEXT} characters")
            return
        entry = {"user": message.peer.user_id, "text": text}
        self.history.setdefault(room, deque(maxlen=HISTORY)).append(entry)
        await self.lookup(MANAGER).tell(
            TopicPublish(f"chat:{room}", entry, publisher=message.peer, ref=message.id)
        )


CHAT_TYPES = ("chat.join", "chat.say", "chat.history")
