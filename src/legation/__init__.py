"""legation: a Kubernetes-native API gateway on Envoy, reading Ambassador configuration."""

__version__ = "0.1.0"
