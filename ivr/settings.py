"""Control-plane settings, from the environment (prefix IVR_) or a .env file.

Rules: validated once at start with ranges; a missing or invalid setting stops the app
with a message naming the environment variable and what is wrong. The ARI password
has no default: production never runs on a default secret.
"""

from __future__ import annotations

import re
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_TAKERS = [f"taker{n:02d}" for n in range(1, 21)]
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


class StoreSettings(BaseSettings):
    """What tools that only read call records need (no ARI secret)."""

    model_config = SettingsConfigDict(env_prefix="IVR_", env_file=None, extra="ignore")

    redis_url: str = Field("redis://127.0.0.1:6380/0", pattern=r"^rediss?://")
    redis_prefix: str = Field("ivr", pattern=r"^[A-Za-z0-9_-]{1,20}$")
    record_retention_days: int = Field(30, ge=1, le=3650)
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # Times shown to people; Kendari is on WITA (UTC+8). Stored times are always epoch seconds.
    timezone: str = "Asia/Makassar"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone '{value}' (use an IANA name such as Asia/Makassar)"
            ) from None
        return value


class Settings(StoreSettings):
    """Everything the running control plane needs."""

    ari_url: str = Field("http://127.0.0.1:8088", pattern=r"^https?://[^/\s]+$")
    ari_user: str = Field("ivr112", min_length=1)
    ari_password: SecretStr = Field(min_length=8)
    ari_app: str = Field("ivr112", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    takers: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_TAKERS))
    greeting_media: str = Field("sound:ivr112/greeting", pattern=r"^(sound|recording|tone):\S+$")
    greeting_guard_seconds: float = Field(30.0, ge=5, le=120)
    ring_seconds: int = Field(15, ge=5, le=60)
    reconnect_max_seconds: float = Field(30.0, ge=1, le=300)

    @field_validator("takers", mode="before")
    @classmethod
    def _split_takers(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("takers")
    @classmethod
    def _check_takers(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one call taker endpoint is needed")
        bad = [name for name in value if not ENDPOINT_NAME.match(name)]
        if bad:
            raise ValueError(f"not a SIP endpoint name: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("a call taker is listed twice")
        return value


SettingsT = TypeVar("SettingsT", bound=StoreSettings)


class SettingsError(Exception):
    """Settings could not be loaded; the message names each bad variable."""


def load_settings(model: type[SettingsT] = Settings) -> SettingsT:  # type: ignore[assignment]
    try:
        return model()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "IVR_" + "_".join(str(part) for part in error["loc"][:1]).upper()
            problems.append(f"  {name}: {error['msg']}")
        raise SettingsError("invalid settings:\n" + "\n".join(problems)) from None
