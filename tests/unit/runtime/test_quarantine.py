"""The quarantine withholds what changed since Envoy last accepted a configuration."""

from __future__ import annotations

from dataclasses import dataclass

from legation.ir.provenance import Source
from legation.model.raw import RawObject
from legation.runtime.quarantine import Quarantine


@dataclass
class Res:
    key: str
    raw: RawObject


def raw(name: str) -> RawObject:
    return RawObject(doc={"name": name}, source=Source(f"{name}.yaml", 1))


def test_withholds_changes_since_last_accepted_and_releases_on_change() -> None:
    q = Quarantine()
    a, b = raw("a"), raw("b")
    q.built([Res("A", a)])
    assert not q.observe("in sync", "v1", "")
    q.built([Res("A", a), Res("B", b)])
    assert q.observe("rejected", "v2", "bad regex")
    assert q.held() == {"B": (b, "bad regex")}
    assert not q.observe("rejected", "v2", "bad regex")  # handled once per version
    q.built([Res("A", a), Res("B", b)])  # rebuilt with B withheld
    assert not q.observe("in sync", "v3", "")
    assert q.held() == {"B": (b, "bad regex")}
    b2 = raw("b")
    q.built([Res("A", a), Res("B", b2)])  # B changed: released, tried again
    assert q.held() == {}


def test_first_configuration_rejected_withholds_nothing() -> None:
    q = Quarantine()
    q.built([Res("A", raw("a"))])
    assert not q.observe("rejected", "v1", "bad")
    assert q.held() == {}


def test_rejection_before_any_in_sync_was_seen_uses_the_previous_build() -> None:
    q = Quarantine()
    a, b = raw("a"), raw("b")
    q.built([Res("A", a)])
    q.built([Res("A", a), Res("B", b)])  # v1's ACK was never observed
    assert q.observe("rejected", "v2", "bad")
    assert set(q.held()) == {"B"}
