"""The intermediate representation: typed, frozen dataclasses between compile and Envoy.

Nothing here imports Kubernetes, gRPC, Envoy or any other legation package, so the IR
can be serialised to YAML for golden files and read by every later stage.
"""
