"""--redact: host names, IP addresses and user names become stable pseudonyms in every format."""

from __future__ import annotations

import re

import pytest

from clustermax.redact import KEY_ENV, Redactor
from clustermax.reports import FORMATS, render

from .factories import make_bundle, make_score

SECRETS = (
    "gpu-001",
    "gpu-002",
    "gpu-003",
    "gpu-004",
    "login-1",
    "laptop-7",
    "alice",
    "10.1.0.",
    "203.0.113.10",
)


@pytest.fixture()
def items(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    bundle = make_bundle()
    return [(bundle, make_score(bundle))]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_name_address_or_user_survives(items, fmt):
    plain = render(items, fmt)
    out = render(items, fmt, redact=True)
    assert any(secret in plain for secret in SECRETS)  # the unredacted report does name them
    for secret in SECRETS:
        assert secret not in out, (fmt, secret)
    assert re.search(r"host-[0-9a-f]{8}", out) or fmt in ("csv", "junit")


def test_pseudonyms_are_stable_and_keyed(items, monkeypatch):
    first = render(items, "json", redact=True)
    assert render(items, "json", redact=True) == first
    red = Redactor(["gpu-001", "gpu-002"])
    assert red.text("gpu-001") == Redactor(["gpu-002", "gpu-001"]).text("gpu-001")  # order does not matter
    assert red.text("gpu-001") != red.text("gpu-002")
    assert red.text("gpu-001") != Redactor(["gpu-001", "gpu-009"]).text("gpu-001")  # keyed by the host list
    monkeypatch.setenv(KEY_ENV, "s3cret")
    keyed = Redactor(["gpu-001", "gpu-002"])
    assert keyed.text("gpu-001") == Redactor(["gpu-001", "gpu-777"]).text(
        "gpu-001"
    )  # secret: stable everywhere
    assert keyed.text("gpu-001") != red.text("gpu-001")
    assert render(items, "json", redact=True) != first


def test_text_redaction_rules():
    red = Redactor(["node7.cluster.example", "login"], users=["bob", "root"], secret="k")
    text = red.text(
        "ssh bob@node7.cluster.example (node7) from 192.0.2.44 and fe80::1%eth0, root ok, "
        "login-extra stays, driver 535.104.05 stays, time 12:34:56 stays"
    )
    assert "node7" not in text and "bob" not in text and "192.0.2.44" not in text and "fe80::1" not in text
    assert red.text("node7.cluster.example") == red.text("node7")  # short name, same pseudonym
    assert "root ok" in text and "login-extra stays" in text
    assert "535.104.05" in text and "12:34:56" in text
    assert re.search(r"ip-[0-9a-f]{8}", text) and re.search(r"user-[0-9a-f]{8}", text)
