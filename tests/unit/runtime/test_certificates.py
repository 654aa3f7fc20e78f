"""The diagnostics' certificate list: what is shown, and the 14-day expiry warning."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from legation.compile.compiler import compile_config
from legation.runtime.state import certificates
from legation.sources.files import FolderReader

CASE = Path(__file__).parents[2] / "golden" / "hosts_tls"


def test_certificates_show_no_key_and_warn_before_expiry() -> None:
    gateway = compile_config(FolderReader(CASE).read().objects).gateway
    early = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    late = datetime.datetime(2035, 12, 25, tzinfo=datetime.UTC)  # they end 2036-01-01
    shown = certificates(gateway, early)
    assert [c["name"] for c in shown] == ["default/a-tls", "default/b-tls"]
    assert shown[0]["subject"] == "CN=a.example.com" and shown[0]["sans"] == ["a.example.com"]
    assert not any(c["expiring_soon"] for c in shown)
    assert all(
        c["expiring_soon"] and c["expires_in_days"] == 7 for c in certificates(gateway, late)
    )
    assert "BEGIN" not in json.dumps(shown) and "key" not in json.dumps(shown).lower()
