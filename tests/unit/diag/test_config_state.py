"""How the connected Envoys stand with a version: in sync, rejected, pending."""

from __future__ import annotations

from legation.runtime.state import config_state
from legation.xds.status import NackInfo, NodeStatus, TypeStatus


def _type(acked: str | None, desired: str, sent: str, nack: str | None = None) -> TypeStatus:
    info = NackInfo(nack, "3", "invalid regex", 0.0) if nack else None
    return TypeStatus("route", False, (), sent, "3", acked, desired, info)


def _node(*types: TypeStatus, version: str = "v2", connected: bool = True) -> NodeStatus:
    return NodeStatus(
        "n", connected, "sotw", version, 0.0, {str(i): t for i, t in enumerate(types)}
    )


def test_states() -> None:
    assert config_state([], "v2") == "disconnected"
    assert config_state([_node(_type("a", "a", "a"), connected=False)], "v2") == "disconnected"
    assert config_state([_node(_type("a", "a", "a"))], "v2") == "in sync"
    assert config_state([_node(_type("a", "a", "a"), version="v1")], "v2") == "pending"
    assert config_state([_node(_type("a", "b", "b"))], "v2") == "pending"
    # the latest response was rejected and an earlier one is in force: last good config
    assert config_state([_node(_type("a", "b", "b", nack="b"))], "v2") == "rejected"
    # rejected before anything was ever accepted: nothing is in force
    assert config_state([_node(_type(None, "b", "b", nack="b"))], "v2") == "pending"
    # an old NACK, but a newer response is on its way
    assert config_state([_node(_type("a", "c", "c", nack="b"))], "v2") == "pending"
