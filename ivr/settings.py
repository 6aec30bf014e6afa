"""Settings of the control plane, its tools and its watchdog, from the environment
(prefix IVR_) or a .env file.

Rules: validated once at start with ranges; a missing or invalid setting stops the app
with a message naming the environment variable and what is wrong. The ARI password
and the API token have no default, and outside development mode (IVR_DEVELOPMENT)
every secret (ARI, API, AMI, the watchdog's AMI, Redis) must pass ivr/secret_rules.py (16 characters or
more, not a default, not built from common words, walks or runs): a centre never runs on
a guessable secret. Secrets are SecretStr and never echoed; the Redis password
(IVR_REDIS_PASSWORD) is kept out of IVR_REDIS_URL so that the URL can be shown. A secret
may also come as a file of SECRETS_DIR named like its variable (any case: the containers'
compose secrets, /run/secrets/ivr_ari_password); the environment wins over such a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ivr.adapters.ari.nodes import parse_nodes
from ivr.adapters.http.tls import client_context, readable, server_context
from ivr.adapters.log_syslog import SyslogTarget, parse_syslog
from ivr.adapters.redis_connect import parse_sentinels
from ivr.core.edge_dial import parse_edges
from ivr.secret_rules import weakness

MEDIA = r"^(sound|recording|tone):\S+$"  # an ARI media URI
# Where a container's secrets are mounted (docker/compose.yaml `secrets:`); read only when it exists.
SECRETS_DIR = Path("/run/secrets")


class StoreSettings(BaseSettings):
    """What tools that only read call records need (no ARI secret)."""

    model_config = SettingsConfigDict(env_prefix="IVR_", env_file=None, extra="ignore")

    # Development mode (IVR_DEVELOPMENT=true) accepts short or guessable secrets; a centre never runs in it.
    development: bool = False
    redis_url: str = Field("redis://127.0.0.1:6380/0", pattern=r"^rediss?://")
    # Redis's requirepass (scripts/redis-start.sh keeps one in the state folder); unset: no AUTH.
    redis_password: SecretStr | None = Field(default=None, min_length=8)
    redis_prefix: str = Field("ivr", pattern=r"^[A-Za-z0-9_-]{1,20}$")
    # Redis with Sentinel (docs/operations.md): the Sentinels, "host:port,host:port,host:port",
    # asked for the primary of redis_service, which they then follow through a failover; the
    # Sentinels require redis_password too. Empty: the one Redis at redis_url (of which only
    # the database number counts with Sentinels).
    redis_sentinels: str = ""
    redis_service: str = Field("ivr112", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    record_retention_days: int = Field(30, ge=1, le=3650)
    reputation_window_days: int = Field(30, ge=1, le=365)
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # The log (docs/operations.md, "Logs"): text lines or JSON lines on standard error, and a
    # copy to syslog: a socket path (/dev/log) or an IP address[:port] over UDP; "": no copy.
    log_format: Literal["text", "json"] = "text"
    log_syslog: str = ""
    log_syslog_facility: str = Field("local0", pattern=r"^(local[0-7]|user|daemon)$")
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

    @field_validator("log_syslog")
    @classmethod
    def _syslog_readable(cls, value: str) -> str:
        parse_syslog(value)  # SyslogInvalid (a ValueError) says what is wrong
        return value

    @field_validator("redis_url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        if urlsplit(value).password is not None:
            raise ValueError("holds a password: give it in IVR_REDIS_PASSWORD instead (the URL is logged)")
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels_readable(cls, value: str, info: ValidationInfo) -> str:
        if parse_sentinels(value) and str(info.data.get("redis_url", "")).startswith("rediss://"):
            raise ValueError("TLS (a rediss:// IVR_REDIS_URL) is not supported with Sentinels")
        return value  # SentinelsInvalid (a ValueError) names the entry and what is wrong

    @property
    def redis_where(self) -> str:
        """Where Redis is, for logs and messages (no secret)."""
        if self.redis_sentinels:
            return f"primary '{self.redis_service}' of the Sentinels {self.redis_sentinels}"
        return self.redis_url

    @property
    def syslog_target(self) -> SyslogTarget | None:
        """Where the log's syslog copy goes, or None."""
        return parse_syslog(self.log_syslog)

    @property
    def redis_secret(self) -> str | None:
        """The Redis password for the client, or None."""
        return None if self.redis_password is None else self.redis_password.get_secret_value()


class Settings(StoreSettings):
    """Everything the running control plane needs."""

    ari_url: str = Field("http://127.0.0.1:8088", pattern=r"^https?://[^/\s]+$")
    ari_user: str = Field("ivr112", min_length=1)
    ari_password: SecretStr = Field(min_length=8)
    ari_app: str = Field("ivr112", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    # Several Asterisk nodes (the cluster form): "a1=http://10.0.0.11:8088,a2=http://10.0.0.12:8088",
    # each name the node's Asterisk systemname; set, it replaces ari_url. A node whose events
    # stream stays down node_lost_seconds is lost: its calls are cut off, to be called back.
    ari_nodes: str = ""
    node_lost_seconds: float = Field(3.0, ge=0.5, le=60)
    # The cluster's SIP edges, "a.b.c.d:port,a.b.c.d:port" (edge 1 first), as the nodes' scripts
    # read them. Two or more: the control plane probes each and sends every leg it originates
    # through the first that answers (ivr/adapters/sip_edges.py). Empty or one: as Asterisk routes.
    sip_edge: str = ""
    # An active control plane and standbys: the one holding this lease in Redis leads (0: one
    # control plane, no lease). A standby takes over within about this time of the leader's death.
    leader_lease_seconds: float = Field(0.0, ge=0, le=30)
    instance_name: str = Field("", pattern=r"^[A-Za-z0-9_.:-]{0,60}$")  # "": host:pid
    # AMI: the call takers' phones (registration, qualify) and pjsip reloads. No password: AMI off.
    ami_host: str = Field("127.0.0.1", pattern=r"^[0-9a-zA-Z.:-]+$")
    ami_port: int = Field(5038, ge=1, le=65535)
    ami_user: str = Field("ivr112", min_length=1)
    ami_password: SecretStr | None = Field(default=None, min_length=8)
    centre_config: Path = Path("queue/kendari.yaml")
    http_bind: str = Field("127.0.0.1", pattern=r"^[0-9a-fA-F:.]+$")
    http_port: int = Field(8112, ge=1, le=65535)
    # HTTPS for the API and dashboard (docs/operations.md, "TLS"): the PEM certificate chain
    # and its key, both or neither; set, the API serves TLS only. Unset: plain HTTP.
    http_tls_cert: Path | None = None
    http_tls_key: Path | None = Field(default=None, validate_default=True)
    api_token: SecretStr = Field(min_length=16)  # the operators' key: every role
    events_kept: int = Field(10_000, ge=100, le=1_000_000)  # GET /api/v1/events replays this many
    users_file: Path | None = None  # call takers, supervisors, engineers (see ivr/adapters/http/auth.py)
    # Callers' locations (AML, docs/operations.md "Caller location (AML)"): who may deliver
    # them ("name secret" a line; unset: secrets/aml_senders in state_dir, if it exists), how
    # long before a call's INVITE a fix may arrive and still be its, and the desk's map: a tile
    # server's URL template ("": no tiles, the desk shows coordinates and links) and its credit.
    aml_senders_file: Path | None = None
    aml_window_seconds: float = Field(30.0, ge=5, le=600)
    map_tiles_url: str = Field("", pattern=r"^(https?://[^\s/]+/\S*\{z\}\S*\{x\}\S*\{y\}\S*)?$")
    map_attribution: str = Field("", max_length=200, pattern=r"^[^<>\"]*$")
    greeting_media: str = Field("sound:ivr112/greeting", pattern=MEDIA)
    reassurance_media: str = Field("sound:ivr112/reassurance", pattern=MEDIA)
    silent_prompt_media: str = Field("sound:ivr112/silent-call", pattern=MEDIA)
    warning_media: str = Field("sound:ivr112/prank-warning", pattern=MEDIA)
    agency_announce_media: str = Field("sound:ivr112/agency-announce", pattern=MEDIA)
    agency_failed_media: str = Field("sound:ivr112/agency-unreachable", pattern=MEDIA)
    # Recording: every call, one WAV per call, in Asterisk's recordings folder; this is that
    # folder as the control plane sees it (free-space checks). Unset: no free-space check.
    record_calls: bool = True
    recordings_path: Path | None = None
    recording_min_free_mb: int = Field(500, ge=0, le=10_000_000)
    recording_retention_days: int = Field(30, ge=1, le=3650)
    archive_path: Path = Path("/var/lib/ivr112/calls.sqlite3")  # durable call history (SQLite)
    greeting_guard_seconds: float = Field(30.0, ge=5, le=120)
    # Screening audio: Asterisk sends each screened caller's audio (externalMedia RTP) to a
    # port of this range on this address, which must be one of this host's addresses.
    screening_rtp_host: str = Field("127.0.0.1", pattern=r"^[0-9.]+$")
    screening_rtp_ports: str = Field("41000-41999", pattern=r"^[0-9]{1,5}-[0-9]{1,5}$")
    # A Vosk model folder (never downloaded); unset: screening by speech detection and DTMF only.
    vosk_model: Path | None = None
    # Callbacks to abandoned callers dial this (through the carrier trunk); {number} is the number.
    callback_dial: str = Field("PJSIP/{number}@carrier", pattern=r"^[A-Za-z]+/\S*\{number\}\S*$")
    callback_ring_seconds: int = Field(45, ge=10, le=120)  # how long the called-back number rings
    reconnect_max_seconds: float = Field(30.0, ge=1, le=300)
    recognizer_slots: int = Field(4, ge=0, le=64)  # concurrent recognitions; more calls go without
    # Speech detection takes as many callers at once as fit in this share of one core (its
    # cost per call is measured at start), at most screening_slots; callers beyond that are
    # screened by sound energy and keys only. The cap is Asterisk's side: each caller's
    # screening leg (snoop, bridge, RTP out) costs it 4-5 ms of CPU per second (make bench,
    # screening transport), so 60 at once take about a quarter of a core from the calls.
    screening_slots: int = Field(60, ge=0, le=1000)
    screening_cpu_share: float = Field(0.5, gt=0, le=4)
    # While the machine's CPU, all cores, was busier than this share over the last second,
    # new callers are screened by sound energy and keys instead of speech detection: a
    # saturated machine's CPU goes to the calls' answers and media first (1: never shed).
    screening_busy_limit: float = Field(0.85, gt=0, le=1)
    # The test and development profile (IVR_STATIC_CONTACTS, as `config apply` reads it): every
    # phone has a fixed loopback contact, so no agency phone registers.
    static_contacts: bool = False
    # Where a reload writes the centre's SIP endpoints (Asterisk's etc folder; unset: not
    # written) and where their passwords live, as `python -m ivr config apply` uses them.
    asterisk_etc: Path | None = None
    state_dir: Path = Path("/var/lib/ivr112")
    # The watchdog's status file (its last hand-over), shown in /api/health when it exists.
    watchdog_status: Path = Path("/var/lib/ivr112/watchdog.json")

    @field_validator("ari_password", "api_token", "ami_password", "redis_password")
    @classmethod
    def _no_default_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        return _strong(value, info)

    @field_validator("http_tls_cert")
    @classmethod
    def _cert_readable(cls, value: Path | None) -> Path | None:
        return None if value is None else readable(value)  # TlsFileInvalid names the file

    @field_validator("http_tls_key")
    @classmethod
    def _key_pairs_with_cert(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if "http_tls_cert" not in info.data:
            return value  # the certificate is already refused
        cert = info.data["http_tls_cert"]
        if (cert is None) != (value is None):
            raise ValueError("IVR_HTTP_TLS_CERT and IVR_HTTP_TLS_KEY go together: set both or neither")
        if cert is not None and value is not None:
            server_context(cert, value)  # TlsFileInvalid: unreadable, not PEM, not the cert's key
        return value

    @field_validator("ari_nodes")
    @classmethod
    def _nodes_readable(cls, value: str) -> str:
        parse_nodes(value)  # NodesInvalid (a ValueError) names the node and what is wrong
        return value

    @field_validator("sip_edge")
    @classmethod
    def _edges_readable(cls, value: str) -> str:
        parse_edges(value)  # EdgesInvalid (a ValueError) names the edge and what is wrong
        return value

    @property
    def aml_senders_path(self) -> Path:
        """The AML senders file: the one set, else the state folder's secrets/aml_senders."""
        return self.aml_senders_file or self.state_dir / "secrets" / "aml_senders"

    @property
    def node_urls(self) -> dict[str, str]:
        """The Asterisk nodes by name; empty in the single-node form (ari_url)."""
        return parse_nodes(self.ari_nodes)

    @property
    def sip_edges(self) -> list[str]:
        """The SIP edges, "a.b.c.d:port", edge 1 first; empty when none is given."""
        return parse_edges(self.sip_edge)

    @property
    def rtp_port_range(self) -> tuple[int, int]:
        first, _, last = self.screening_rtp_ports.partition("-")
        return int(first), int(last)

    @field_validator("screening_rtp_ports")
    @classmethod
    def _ordered_range(cls, value: str) -> str:
        low, _, high = value.partition("-")
        if not 1024 <= int(low) <= int(high) <= 65535:
            raise ValueError(f"'{value}' is not a range low-high of ports between 1024 and 65535")
        return value


class WatchdogSettings(StoreSettings):
    """What the watchdog needs (python -m ivr watchdog): its own AMI user, the control
    plane's health URL, and Redis (optional) for the records of the callers it hands over.
    Nothing of the control plane's secrets."""

    ari_app: str = Field("ivr112", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    ami_host: str = Field("127.0.0.1", pattern=r"^[0-9a-zA-Z.:-]+$")
    ami_port: int = Field(5038, ge=1, le=65535)
    watchdog_ami_user: str = Field("ivr112-watchdog", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    watchdog_ami_password: SecretStr = Field(min_length=8)
    watchdog_health_url: str = Field("http://127.0.0.1:8112/api/health", pattern=r"^https?://\S+$")
    # The CA (PEM) that an https:// health URL's certificate is checked against; unset: the system's.
    http_tls_ca: Path | None = None
    # Long enough for a restarted control plane to adopt its calls; callers wait this long.
    watchdog_grace_seconds: float = Field(5.0, ge=1, le=120)
    watchdog_check_seconds: float = Field(0.5, ge=0.1, le=5)  # between health checks
    watchdog_status: Path = Path("/var/lib/ivr112/watchdog.json")
    watchdog_records: bool = True  # close the records of the callers it hands over (Redis)

    @field_validator("http_tls_ca")
    @classmethod
    def _ca_readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            client_context(value)  # TlsFileInvalid: unreadable or no PEM certificate in it
        return value

    @field_validator("watchdog_ami_password", "redis_password")
    @classmethod
    def _no_default_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        return _strong(value, info)


def _strong(value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
    """A secret outside development mode must not be guessable (ivr/secret_rules.py)."""
    if value is None or info.data.get("development"):
        return value
    reason = weakness(value.get_secret_value())
    if reason is not None:
        raise ValueError(
            f"a default or guessable secret is refused outside development mode (IVR_DEVELOPMENT=true): "
            f"{reason}"
        )
    return value


SettingsT = TypeVar("SettingsT", bound=StoreSettings)


class SettingsError(Exception):
    """Settings could not be loaded; the message names each bad variable."""


def load_settings(model: type[SettingsT] = Settings) -> SettingsT:  # type: ignore[assignment]
    try:
        return model(_secrets_dir=SECRETS_DIR) if SECRETS_DIR.is_dir() else model()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "IVR_" + "_".join(str(part) for part in error["loc"][:1]).upper()
            problems.append(f"  {name}: {error['msg']}")
        raise SettingsError("invalid settings:\n" + "\n".join(problems)) from None
