"""The example actors of docs/actors.md, tested without sockets."""

from __future__ import annotations

import trio
import trio.testing

from tether.actors.examples.chat import ChatRoom
from tether.actors.examples.echo import echo
from tether.actors.manager import MANAGER, ConnectionManager
from tether.actors.manager._messages import Admit
from tether.actors.testing import inbound, probe_peer, sent
from tether.supervision import ChildSpec, Supervisor


def tree() -> Supervisor:
    return Supervisor(
        "test",
        children=[
            ChildSpec(MANAGER, ConnectionManager),
            ChildSpec("chat", ChatRoom),
        ],
    )


def test_echo_replies_on_the_same_connection() -> None:
    peer = probe_peer()
    echo(inbound(peer, type="echo", data=[1, 2], id="e"))
    echo(inbound(peer, type="echo", data=None))
    assert sent(peer) == [
        {"type": "echo", "data": [1, 2], "ref": "e"},
        {"type": "echo", "data": None},
    ]


async def test_chat_room_join_say_history(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree()
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ann, bob = probe_peer("ann"), probe_peer("bob")
        for peer in (ann, bob):
            assert await sup.ref(MANAGER).ask(Admit(peer)) is None
        chat = sup.ref("chat")
        await chat.tell(inbound(bob, type="chat.join", room="lobby", id=1))
        await chat.tell(inbound(ann, type="chat.say", room="lobby", text="hello", id=2))
        await chat.tell(inbound(ann, type="chat.say", room="bad room!", text="x", id=3))
        await chat.tell(inbound(bob, type="chat.history", room="lobby", id=4))
        await trio.testing.wait_all_tasks_blocked()
        bob_frames = sent(bob)
        assert bob_frames[0] == {"type": "ack", "ref": 1}
        assert {"type": "chat.history", "room": "lobby", "ref": 4,
                "messages": [{"user": "ann", "text": "hello"}]} in bob_frames  # fmt: skip
        delivered = [f for f in bob_frames if f["type"] == "message"]
        assert delivered[0]["topic"] == "chat:lobby"
        assert delivered[0]["data"] == {"user": "ann", "text": "hello"}
        # Replies to different frames may come in either order: match them by ref.
        ann_frames = {frame["ref"]: frame for frame in sent(ann)}
        assert ann_frames[2]["type"] == "ack"
        assert ann_frames[3]["type"] == "error" and ann_frames[3]["code"] == "invalid_frame"
        sup.stop()
