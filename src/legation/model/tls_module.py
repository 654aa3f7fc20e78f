"""The `tls` Module of Ambassador 0.x/1.x: `server` and `client` blocks.

`server` is the certificate served on every host, `client` the CA that client
certificates are checked against. compile/tls_module.py turns them into a Host and a
TLSContext, as Emissary turns them into a TLSContext.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from legation.model.common import StrictModel


class LegacyTlsServer(StrictModel):
    """`server`: TLS termination for every host."""

    enabled: bool = True
    secret: str | None = None
    """Secret with the certificate; Emissary's default is `ambassador-certs`."""
    alpn_protocols: str | None = None
    cert_chain_file: Any = None
    private_key_file: Any = None
    redirect_cleartext_from: Any = None


class LegacyTlsClient(StrictModel):
    """`client`: client certificates (mTLS) for the `server` termination."""

    enabled: bool = True
    secret: str | None = None
    """Secret with the CA certificates; Emissary's default is `ambassador-cacert`."""
    cert_required: bool | None = None
    cacert_chain_file: Any = None


class TlsModuleConfig(StrictModel):
    """The `config` of the Module named `tls`; other keys are origination contexts."""

    model_config = ConfigDict(extra="allow", frozen=True)

    server: LegacyTlsServer | None = None
    client: LegacyTlsClient | None = None


class TlsModuleSpec(StrictModel):
    """A `tls` Module's spec."""

    config: TlsModuleConfig = Field(default_factory=TlsModuleConfig)


TLS_MODULE_NAME = "tls"
