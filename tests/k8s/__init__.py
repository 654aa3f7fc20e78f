"""Tests against a real kube-apiserver (built by hack/k8s-assets.sh)."""
