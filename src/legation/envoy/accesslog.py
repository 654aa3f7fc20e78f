"""IR access logging → Envoy file access loggers on the HTTP connection manager."""

from __future__ import annotations

from typing import Any

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.core.v3 import base_pb2, substitution_format_string_pb2
from envoy.extensions.access_loggers.file.v3 import file_pb2
from google.protobuf import any_pb2, struct_pb2

from legation.ir.accesslog import AccessLog, LogType


def translate_access_log(log: AccessLog) -> Any:
    """One `envoy.access_loggers.file` AccessLog writing `log.path`."""
    fmt = substitution_format_string_pb2.SubstitutionFormatString()
    if log.log_type is LogType.JSON:
        fields = struct_pb2.Struct()
        for key, value in log.json_format:
            fields.fields[key].string_value = value
        fmt.json_format.CopyFrom(fields)
    elif log.text_format is not None:
        fmt.text_format_source.CopyFrom(base_pb2.DataSource(inline_string=log.text_format))
    file_log = file_pb2.FileAccessLog(path=log.path)
    if log.log_type is LogType.JSON or log.text_format is not None:
        file_log.log_format.CopyFrom(fmt)
    packed = any_pb2.Any()
    packed.Pack(file_log)
    return accesslog_pb2.AccessLog(name="envoy.access_loggers.file", typed_config=packed)
