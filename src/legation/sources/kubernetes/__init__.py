"""The Kubernetes source: informers on a real API server, feeding the same pipeline as files.

Import `legation.sources.kubernetes.source` for `KubernetesSource`; this package module
stays light (it does not import the HTTP client).
"""

from legation.sources.kubernetes.options import KubernetesOptions

__all__ = ["KubernetesOptions"]
