"""Where an MQTT broker is: ``mqtt://[user:password@]host[:port]`` or ``mqtts://...``.

One parser for the rig agent and central, so both accept and refuse the same URLs. Parsing only:
nothing here opens a connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = ["BrokerAddress"]

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """Parse a broker URL; percent-escapes in the credentials are decoded.

        :raises ValueError: not ``mqtt://`` or ``mqtts://``, no host, a bad port, or a path or
            query (a broker URL has neither); the message names the URL.
        """
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError(f"MQTT URL {url!r} must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"MQTT URL {url!r} names no host")
        try:
            port = parts.port  # urlsplit checks the port only when asked
        except ValueError as exc:
            raise ValueError(f"MQTT URL {url!r}: {exc}") from exc
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"MQTT URL {url!r}: give only scheme, credentials, host and port")
        return cls(
            host=parts.hostname,
            port=port or _DEFAULT_PORTS[parts.scheme],
            tls=parts.scheme == "mqtts",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    @property
    def url(self) -> str:
        """The URL without credentials, safe to log and show."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"
