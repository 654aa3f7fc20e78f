"""Kubernetes `Secret` (v1): certificates and keys (`tls.crt`, `tls.key`, `ca.crt`).

Nothing is validated here, so no parse error can quote a value: decoding and checks
happen in compile, with messages that name keys and never contents. `redacted` is the
only form in which a Secret document may be shown.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

TLS_SECRET_TYPE = "kubernetes.io/tls"
CERT_KEY, PRIVATE_KEY, CA_KEY = "tls.crt", "tls.key", "ca.crt"


class SecretSpec(BaseModel):
    """A Secret's top-level fields (`type`, `data`, `stringData`), unchecked."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Any = "Opaque"
    data: Any = None
    stringData: Any = None

    def value(self, key: str) -> bytes | None:
        """The bytes under `key` (`stringData` wins, as the API server merges them).

        Raises ValueError (naming the key, never the value) for a value that is not a
        string, or `data` that is not base64.
        """
        if isinstance(self.stringData, Mapping) and key in self.stringData:
            text = self.stringData[key]
            if not isinstance(text, str):
                raise ValueError(f"stringData.{key} is not a string")
            return text.encode()
        if isinstance(self.data, Mapping) and key in self.data:
            encoded = self.data[key]
            if not isinstance(encoded, str):
                raise ValueError(f"data.{key} is not a string")
            try:
                return base64.b64decode(encoded.encode(), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"data.{key} is not valid base64") from None
        return None


def redacted(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret document with every value of `data` and `stringData` replaced."""
    out = dict(doc)
    for name in ("data", "stringData"):
        values = doc.get(name)
        if isinstance(values, Mapping):
            out[name] = {str(k): "<redacted>" for k in values}
        elif values is not None:
            out[name] = "<redacted>"
    return out


def is_secret(doc: Mapping[str, Any]) -> bool:
    """True for a Kubernetes v1 Secret document."""
    return doc.get("apiVersion") == "v1" and doc.get("kind") == "Secret"
