"""The anchorer's timing settings: defaults, environment, and errors that name the variable."""

from __future__ import annotations

import pytest

from scrollintel.audit.anchorer import ENV_MIN_INTERVAL, ENV_POLL, ENV_SETTLE, AnchorerSettings, max_delay_seconds
from scrollintel.exceptions import ConfigError

pytestmark = pytest.mark.unit


def test_defaults_bound_the_delay_to_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_SETTLE, ENV_MIN_INTERVAL, ENV_POLL):
        monkeypatch.delenv(name, raising=False)
    settings = AnchorerSettings.from_env()
    assert settings == AnchorerSettings(settle=0.2, min_interval=2.0, poll=5.0)
    assert max_delay_seconds(settings) == pytest.approx(5.2)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SETTLE, "0.5")
    monkeypatch.setenv(ENV_MIN_INTERVAL, "1")
    monkeypatch.setenv(ENV_POLL, "60")
    assert AnchorerSettings.from_env() == AnchorerSettings(settle=0.5, min_interval=1.0, poll=60.0)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (ENV_POLL, "soon", "SCROLLINTEL_AUDIT_ANCHORER_POLL_SECONDS='soon': expected a number of seconds"),
        (ENV_POLL, "3600", "SCROLLINTEL_AUDIT_ANCHORER_POLL_SECONDS='3600': must be between 0 and 60 seconds"),
        (ENV_SETTLE, "-1", "SCROLLINTEL_AUDIT_ANCHORER_SETTLE_SECONDS='-1': must be between 0 and 60 seconds"),
        (ENV_POLL, "0", "anchorer poll must be more than 0 seconds"),
    ],
)
def test_bad_values_are_named(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        AnchorerSettings.from_env()
    assert str(caught.value) == message
