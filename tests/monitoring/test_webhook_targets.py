"""Webhook targets: only public https addresses, whatever the host name resolves to."""

from __future__ import annotations

import ipaddress

import pytest
from django.utils import translation

from monitoring.forms import AlertRuleForm
from monitoring.webhook_targets import WebhookTargetRefused, vet_url
from tests.monitoring.fakes import PUBLIC_ADDRESS, fake_dns

INTERNAL_ADDRESSES = [
    "127.0.0.1",  # loopback
    "::1",
    "10.0.0.5",  # private
    "172.16.3.4",
    "192.168.1.10",
    "169.254.169.254",  # link-local: cloud metadata
    "fe80::1",
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # noqa: S104 (unspecified: reaches the local host on Linux)
    "::",
    "224.0.0.1",  # multicast (Python counts it as global)
    "ff02::1",
    "240.0.0.1",  # reserved
    "fc00::5",  # unique local
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.5",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]


@pytest.fixture
def dns():
    answers: dict[str, list[str]] = {}
    with fake_dns(answers):
        yield answers


def refusal(url: str) -> WebhookTargetRefused:
    with pytest.raises(WebhookTargetRefused) as caught:
        vet_url(url)
    return caught.value


@pytest.mark.parametrize("address", [PUBLIC_ADDRESS, "2606:4700:4700::1111"])
def test_public_addresses_pass(dns, address):
    dns["hooks.example.com"] = [address]
    vet_url("https://hooks.example.com/alerts?team=data")


def test_public_ip_literals_pass(dns):
    vet_url(f"https://{PUBLIC_ADDRESS}:8443/alerts")


@pytest.mark.parametrize("address", INTERNAL_ADDRESSES)
def test_names_resolving_to_internal_addresses_are_refused(dns, address):
    dns["hooks.example.com"] = [address]
    error = refusal("https://hooks.example.com/alerts")
    assert str(error) == (
        "hooks.example.com points inside the network. Webhooks can only go to "
        "addresses on the public internet."
    )
    # Which internal address the name resolved to is not told (it would map the network).
    assert str(ipaddress.ip_address(address)) not in str(error)
    assert error.permanent


@pytest.mark.parametrize("url", ["https://127.0.0.1/", "https://[::1]:8080/", "https://10.0.0.5"])
def test_internal_ip_literals_are_refused(dns, url):
    assert "points inside the network" in str(refusal(url))


def test_localhost_is_refused(dns):
    assert "points inside the network" in str(refusal("https://localhost/alerts"))


def test_one_private_address_among_public_ones_is_refused(dns):
    dns["mixed.example.com"] = [PUBLIC_ADDRESS, "2606:4700:4700::1111", "10.0.0.5"]
    message = str(refusal("https://mixed.example.com/alerts"))
    assert "mixed.example.com points inside the network" in message
    assert "10.0.0.5" not in message


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example.com/alerts", "file:///etc/passwd", "gopher://hooks.example.com"]
)
def test_other_schemes_are_refused(dns, url):
    dns["hooks.example.com"] = [PUBLIC_ADDRESS]
    assert str(refusal(url)) == "Use an address starting with https://."


def test_plain_http_is_refused(dns):
    dns["hooks.example.com"] = [PUBLIC_ADDRESS]
    assert str(refusal("http://hooks.example.com/alerts")) == (
        "Use an address starting with https://."
    )


@pytest.mark.parametrize(
    "url", ["https://ops:hunter2@hooks.example.com/", "https://ops@hooks.example.com/"]
)
def test_credentials_in_the_address_are_refused(dns, url):
    dns["hooks.example.com"] = [PUBLIC_ADDRESS]
    error = str(refusal(url))
    assert error.startswith("Leave the user name and password out of the address")
    assert "hunter2" not in error


def test_names_that_do_not_resolve_are_refused_for_now(dns):
    dns["gone.example.com"] = []
    error = refusal("https://gone.example.com/alerts")
    assert str(error) == "gone.example.com could not be found. Check the host name."
    assert not error.permanent  # DNS may be failing only for a while: worth a retry


@pytest.mark.parametrize("url", ["https:///alerts", "https://hooks.example.com:99999/"])
def test_incomplete_addresses_are_refused(dns, url):
    dns["hooks.example.com"] = [PUBLIC_ADDRESS]
    assert str(refusal(url)).startswith("Enter a complete address")


def test_the_development_setting_allows_local_http_receivers(dns, settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    vet_url("http://127.0.0.1:8025/hook")
    vet_url("https://localhost/hook")
    assert str(refusal("ftp://127.0.0.1/")) == "Use an address starting with https:// or http://."
    assert "password" in str(refusal("http://ops:pw@127.0.0.1/hook"))


def rule_form(url: str) -> AlertRuleForm:
    data = {
        "kind": "run_failed",
        "enabled": "on",
        "webhook_url": url,
        "webhook_secret": "whsec_form_test_0123456789",
    }
    return AlertRuleForm(data, dataflows=None, allow_global=True)


@pytest.mark.django_db
def test_the_form_explains_an_internal_address(dns):
    dns["metadata.example.com"] = ["169.254.169.254"]
    form = rule_form("https://metadata.example.com/latest/meta-data/")
    assert not form.is_valid()
    assert form.errors["webhook_url"] == [
        "metadata.example.com points inside the network. Webhooks can only go "
        "to addresses on the public internet."
    ]


@pytest.mark.django_db
def test_the_form_explains_it_in_korean_too(dns):
    dns["metadata.example.com"] = ["169.254.169.254"]
    with translation.override("ko"):
        form = rule_form("https://metadata.example.com/")
        assert not form.is_valid()
        message = form.errors["webhook_url"][0]
    assert "metadata.example.com" in message and "public internet" not in message
    assert "169.254.169.254" not in message


@pytest.mark.django_db
def test_the_form_accepts_a_public_https_address(dns):
    dns["hooks.example.com"] = [PUBLIC_ADDRESS]
    form = rule_form("https://hooks.example.com/alerts")
    assert form.is_valid(), form.errors
