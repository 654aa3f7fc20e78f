"""IR → Envoy: typed protobufs from xds-protos, the bootstrap, and the Envoy process."""
