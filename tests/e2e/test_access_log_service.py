"""LogService: real Envoy streams access-log entries to a real gRPC access-log service."""

from __future__ import annotations

import yaml

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.helpers import free_port
from tests.e2e.load import Load
from tests.e2e.tcp_echo import TcpEcho
from tests.e2e.test_tcpmapping import tag_of, tcp_mapping
from tests.e2e.upstreams import AccessLogReceiver


def log_service(name: str, port: int, driver: str = "http", **spec: object) -> str:
    """A LogService as YAML text."""
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "LogService",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"service": f"127.0.0.1:{port}", "driver": driver, **spec},
    }
    return "---\n" + yaml.safe_dump(doc, sort_keys=False)


def test_http_entries_arrive_with_the_additional_headers() -> None:
    headers = [
        {"header_name": "x-user"},
        {"header_name": "x-upstream-secret", "during_request": False},
    ]
    with EchoUpstream("a") as up, AccessLogReceiver() as als:
        files = {
            "m.yaml": mapping("alpha", up.service, "/alpha/"),
            "als.yaml": log_service(
                "als",
                als.port,
                flush_interval_time=1,
                flush_interval_byte_size=1,  # flush every entry at once
                driver_config={"additional_log_headers": headers},
            ),
        }
        with RunningGateway(files) as gw:
            assert gw.get("/alpha/one", headers={"x-user": "ada"}).status_code == 200
            assert gw.get("/alpha/status/503").status_code == 503
            entries = poll(lambda: len(als.http_logs()) >= 2 and als.http_logs(), timeout=15)
            names = {name for name, _ in entries}
            assert names == {"LogService/als.default"}
            by_path = {e.request.original_path or e.request.path: e for _, e in entries}
            first = by_path["/alpha/one"]
            assert first.request.request_headers["x-user"] == "ada"
            assert first.response.response_code.value == 200
            assert first.response.response_headers["x-upstream-secret"] == "hidden"
            assert "x-upstream-secret" not in first.request.request_headers
            assert by_path["/alpha/status/503"].response.response_code.value == 503
            assert "x-user" not in by_path["/alpha/status/503"].request.request_headers


def test_a_log_service_is_added_live_and_one_that_is_down_fails_no_request() -> None:
    with EchoUpstream("a") as up, AccessLogReceiver() as als:
        gw = RunningGateway({"m.yaml": mapping("alpha", up.service, "/alpha/")})
        with gw:
            pid = gw.overview()["envoy"]["pid"]
            with Load(gw.url(""), ["/alpha/load"], pause_s=0.01) as load:
                # nobody listens on this one: its entries are lost, requests are not
                gw.write("down.yaml", log_service("down", free_port()))
                poll(lambda: "logservice_" in gw.admin("/clusters").text, timeout=15)
                tcp = log_service("tcp", als.port, driver="tcp", flush_interval_byte_size=1)
                gw.write("tcp.yaml", tcp)
                poll(als.tcp_logs, timeout=15)
            assert load.sent > 0 and not load.failures
            name, entry = als.tcp_logs()[0]
            assert name == "LogService/tcp.default"
            assert entry.common_properties.upstream_cluster == f"cluster_127_0_0_1_{up.port}"
            assert gw.overview()["envoy"]["pid"] == pid  # applied over xDS, no restart


def test_a_tcp_log_service_logs_tcp_mapping_connections() -> None:
    with TcpEcho(b"a:") as up, AccessLogReceiver() as als:
        port = free_port()
        files = {
            "tcp.yaml": tcp_mapping("pg", port, up.service),
            "als.yaml": log_service("tcp", als.port, driver="tcp", flush_interval_byte_size=1),
        }
        with RunningGateway(files) as gw:
            poll(lambda: tag_of(port) == b"a:", timeout=15)
            entries = poll(als.tcp_logs, timeout=15)
            name, entry = entries[0]
            assert name == "LogService/tcp.default"
            assert entry.common_properties.upstream_cluster.startswith("cluster_127_0_0_1_")
            assert entry.connection_properties.received_bytes > 0
            assert not gw.overview()["errors"]
