"""One line an operator can act on, for a TLS handshake with the broker that failed.

OpenSSL's own words name the alert (``tlsv13 alert certificate required``), not what to change;
the rig agent and central both turn them into a sentence that does. Text only: nothing here
opens a connection.
"""

from __future__ import annotations

import re

__all__ = ["describe_tls_error"]

_REASON = re.compile(r"\[SSL: ([A-Z0-9_]+)\]\s*([^(]*)")

_ADVICE = {
    "CERTIFICATE_VERIFY_FAILED": "the broker's certificate is not signed by the configured CA",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": (
        "the broker requires a client certificate and none was configured"
    ),
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "the broker refused the client certificate: it has expired",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the broker refused the client certificate",
    "TLSV1_ALERT_UNKNOWN_CA": "the broker does not trust the CA that signed the client certificate",
    "WRONG_VERSION_NUMBER": "the broker's port does not speak TLS (mqtts:// on a plain listener?)",
}


def describe_tls_error(error: BaseException | str) -> str | None:
    """``TLS: <what to change> (<OpenSSL's words>)``, or None when ``error`` is no TLS error."""
    text = str(error)
    match = _REASON.search(text)
    if match is None:
        return None
    reason, words = match.group(1), " ".join(match.group(2).split())
    advice = _ADVICE.get(reason, "the TLS handshake with the broker failed")
    return f"TLS: {advice} ({words or reason.lower()})"
