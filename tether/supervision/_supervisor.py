"""The static supervisor: a fixed list of children and an OTP restart strategy."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ._base import BaseSupervisor
from ._child import Child
from ._spec import ChildSpec, Strategy


@attrs.define(eq=False)
class Supervisor(BaseSupervisor):
    """Starts `children` in order (each after the previous reports ready), restarts them
    by `strategy` within the restart intensity, stops them in reverse order."""

    children: Sequence[ChildSpec] = ()
    strategy: Strategy = Strategy.ONE_FOR_ONE

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for spec in self.children:
            self._add(spec)

    @property
    def strategy_name(self) -> str:  # type: ignore[override]
        return self.strategy.value

    def _restart_group(self, child: Child) -> list[Child]:
        if self.strategy is Strategy.ONE_FOR_ONE:
            return [child]
        members = list(self._children.values())
        if self.strategy is Strategy.REST_FOR_ONE:
            members = members[members.index(child) :]
        return [c for c in members if c is child or c.alive]

    async def _start_initial(self) -> None:
        for child in self._children.values():
            if self._stop_requested.is_set():
                return
            await self._start_child(child)
