"""A channel variable set through AMI goes to the Asterisk that holds the channel: in the
cluster form the node its id names, else the one Asterisk; with no AMI it is refused."""

from __future__ import annotations

from typing import cast

import pytest

from ivr.adapters.ami import AmiUnavailable, PhoneWatch
from ivr.asterisk_links import NodeVariables


class Node:
    def __init__(self) -> None:
        self.set: list[tuple[str, str, str]] = []

    async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None:
        self.set.append((channel_id, variable, value))


async def test_each_channel_goes_to_its_node() -> None:
    a1, a2 = Node(), Node()
    variables = NodeVariables(cast(dict[str, PhoneWatch], {"a1": a1, "a2": a2}))
    await variables.set_channel_var("a2-1796343479.7", "TALK_DETECT(remove)", "")
    await variables.set_channel_var("1796343479.8", "TALK_DETECT(remove)", "")  # names no node
    assert a2.set == [("a2-1796343479.7", "TALK_DETECT(remove)", "")]
    assert a1.set == [("1796343479.8", "TALK_DETECT(remove)", "")]


async def test_one_asterisk_takes_every_channel_and_no_ami_refuses() -> None:
    one = Node()
    await NodeVariables(cast(dict[str, PhoneWatch], {"": one})).set_channel_var("1796.5", "X", "1")
    assert one.set == [("1796.5", "X", "1")]
    with pytest.raises(AmiUnavailable, match="AMI off"):
        await NodeVariables({}).set_channel_var("1796.5", "X", "1")
