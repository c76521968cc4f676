import pytest

from protocol import describe_tls_error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in"
            " certificate chain (_ssl.c:1006)",
            "TLS: the broker's certificate is not signed by the configured CA (certificate verify"
            " failed: self-signed certificate in certificate chain)",
        ),
        (
            "failed to receive on socket: [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert"
            " certificate required (_ssl.c:2580)",
            "TLS: the broker requires a client certificate and none was configured (tlsv13 alert"
            " certificate required)",
        ),
        (
            "[SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired (_ssl.c:2580)",
            "TLS: the broker refused the client certificate: it has expired (sslv3 alert"
            " certificate expired)",
        ),
    ],
)
def test_openssl_reasons_become_what_to_change(error: str, expected: str) -> None:
    assert describe_tls_error(error) == expected


def test_other_errors_are_not_tls_errors() -> None:
    assert describe_tls_error(ConnectionRefusedError(111, "Connection refused")) is None
