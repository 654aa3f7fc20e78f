"""The bootstrap: admin and xDS on Unix sockets or loopback TCP, node metadata."""

from __future__ import annotations

import pytest

from legation.envoy.bootstrap import XDS_CLUSTER_NAME, build_bootstrap


def test_unix_sockets_and_token_metadata() -> None:
    bootstrap = build_bootstrap(
        node_id="legation-default",
        node_cluster="legation",
        delta=False,
        admin_path="/run/x/admin.sock",
        xds_path="/run/x/xds.sock",
        metadata={"legation_token": "t0k"},
    )
    assert bootstrap.admin.address.pipe.path == "/run/x/admin.sock"
    assert bootstrap.admin.address.pipe.mode == 0o600
    assert not bootstrap.admin.address.HasField("socket_address")
    (cluster,) = bootstrap.static_resources.clusters
    assert cluster.name == XDS_CLUSTER_NAME
    address = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
    assert address.pipe.path == "/run/x/xds.sock"
    assert bootstrap.node.metadata.fields["legation_token"].string_value == "t0k"


def test_tcp_when_ports_are_given() -> None:
    bootstrap = build_bootstrap(
        node_id="n", node_cluster="c", delta=True, admin_port=8001, xds_port=18000
    )
    assert bootstrap.admin.address.socket_address.address == "127.0.0.1"
    assert bootstrap.admin.address.socket_address.port_value == 8001
    address = (
        bootstrap.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0]
    ).endpoint.address
    assert (address.socket_address.address, address.socket_address.port_value) == (
        "127.0.0.1",
        18000,
    )
    assert not bootstrap.node.HasField("metadata")


def test_exactly_one_admin_address() -> None:
    with pytest.raises(ValueError, match="admin"):
        build_bootstrap(node_id="n", node_cluster="c", delta=False, xds_port=1)
    with pytest.raises(ValueError, match="admin"):
        build_bootstrap(
            node_id="n", node_cluster="c", delta=False, admin_port=1, admin_path="/a", xds_port=1
        )
