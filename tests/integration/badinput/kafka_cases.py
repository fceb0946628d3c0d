"""Hostile connection cases every Kafka module shares: bad bootstrap strings, a refused port, a port
that accepts and never answers, an HTTP server where a broker should be, TLS and SASL against the
real plaintext broker, and secrets that must never be printed."""

from __future__ import annotations

from tests.integration.badinput.hostile import canary, closed_port
from tests.integration.badinput.suite import Case

SASL_SECRET = "kafka-sasl"


def connection_cases(base: dict, fake: dict, traps: dict) -> list[Case]:
    """Cases built on ``base`` (a call that works against the real broker) that must fail with one sentence."""
    password = canary(SASL_SECRET)

    def with_(**options):
        return {**base, **options}

    return [
        Case("unreachable broker", with_(bootstrap_servers=f"127.0.0.1:{closed_port()}", request_timeout=1), True,
             mentions="Cannot reach the Kafka cluster"),
        Case("broker accepts and never answers", with_(bootstrap_servers=f"127.0.0.1:{fake['blackhole'].port}",
                                                       request_timeout=1), True),
        Case("an HTTP server where the broker should be",
             with_(bootstrap_servers=fake["not_json"].url.removeprefix("http://"), request_timeout=1), True),
        Case("host that does not resolve", with_(bootstrap_servers="kafka.invalid:9092", request_timeout=1), True),
        Case("bootstrap servers empty", with_(bootstrap_servers=""), True, mentions="bootstrap servers"),
        Case("bootstrap servers as a URL", with_(bootstrap_servers="http://127.0.0.1:9092"), True),
        Case("bootstrap servers without a port", with_(bootstrap_servers="127.0.0.1"), True),
        Case("bootstrap port 0", with_(bootstrap_servers="127.0.0.1:0"), True),
        Case("bootstrap list with junk", with_(bootstrap_servers=f"{base['bootstrap_servers']},;rm -rf /:1"), True),
        Case("timeout nan", with_(request_timeout="nan"), True),
        Case("timeout negative", with_(request_timeout=-1), True),
        Case("timeout a year", with_(request_timeout=31536000), True),
        Case("unknown security protocol", with_(security_protocol="KERBEROS"), True),
        Case("SASL against a plaintext broker",
             with_(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512", sasl_username="sre",
                   sasl_password=password, request_timeout=1), True),
        Case("SASL user without password", with_(sasl_username="sre"), True),
        Case("TLS against a plaintext broker", with_(security_protocol="SSL", request_timeout=1), True),
        Case("TLS with a CA file that does not exist",
             with_(security_protocol="SSL", ssl_ca_location=str(traps["root"] / "none.pem")), True),
        Case("TLS with a CA that is not PEM",
             with_(security_protocol="SSL", ssl_ca_location=traps["existing"], request_timeout=1), True),
    ]


def secrets() -> list[str]:
    return [canary(SASL_SECRET)]
