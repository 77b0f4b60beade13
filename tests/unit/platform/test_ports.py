"""Remembered ports are re-checked before a start from stopped."""

from __future__ import annotations

import errno
import json
import socket
from pathlib import Path

import pytest

from scrollintel.platform import launcher

pytestmark = pytest.mark.unit


def test_a_port_taken_while_stopped_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    lay = launcher.layout()
    ports = launcher.platform_ports(lay)
    with socket.socket() as squatter:
        try:
            squatter.bind(("127.0.0.1", ports["api_server"]))
            squatter.listen()
        except OSError as err:  # another process (a test platform beside this one) took it first: taken all the same
            if err.errno != errno.EADDRINUSE:
                raise
        lines: list[str] = []
        launcher.refresh_ports(lay, lines.append)
        now = json.loads(lay.ports_file.read_text())
    assert now["api_server"] != ports["api_server"]
    assert {k: v for k, v in now.items() if k != "api_server"} == {k: v for k, v in ports.items() if k != "api_server"}
    assert lines == [f"    port {ports['api_server']} (api_server) is taken; using {now['api_server']}"]
