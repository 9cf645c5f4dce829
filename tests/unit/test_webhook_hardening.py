"""Webhook hardening: signature verification never raises on hostile headers, and the
SSRF check judges the IPv4 address an IPv6 form carries (routers and stacks reach it)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.errors import PayloadError
from baton.webhooks import WebhookConfig, check_callback_url, sign, verify_signature

BODY = b'{"id": "d1"}'
SECRET = "s3cret"
NOW = int(time.time())
MAC = sign(SECRET, BODY, NOW).split("v1=", 1)[1]

# timestamps a receiver may be sent: huge, 20 digits, non-ASCII digits, signs, blanks
timestamps = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.just("9" * 20),
    st.just("1" * 4000),
    st.just("".join(map(chr, range(0x0660, 0x066A)))),  # Arabic-Indic: isdigit(), int() agree
    st.just("\uff11\uff17" + "\uff10" * 8),  # fullwidth digits
    st.just(f" {NOW}"),
    st.just(f"+{NOW}"),
)
macs = st.one_of(st.text(max_size=80), st.just(MAC + "é"), st.just("\udcff"), st.just(""))


@settings(max_examples=300, deadline=None)
@given(header=st.text(max_size=200))
def test_arbitrary_header_text_is_refused_without_raising(header: str) -> None:
    assert verify_signature(SECRET, header, BODY) is False


@settings(max_examples=300, deadline=None)
@given(t=timestamps, v1=macs, sep=st.sampled_from([",", ", ", ",,", ";"]))
def test_odd_timestamps_and_macs_are_refused_without_raising(t: str, v1: str, sep: str) -> None:
    assert verify_signature(SECRET, f"t={t}{sep}v1={v1}", BODY) is False


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=",
        "v1=",
        f"t={NOW}",  # no v1
        f"v1={MAC}",  # no t
        f"t={NOW},v1=",
        f"={NOW},={MAC}",
        ",,,",
        f"t={'9' * 20},v1={MAC}",  # 20 digits: past any sane clock
        f"t=\u0661\u0662\u0663,v1={MAC}",  # non-ASCII digits
        f"t={NOW},v1={MAC}é",  # non-ASCII MAC
        f"t={NOW},v1=\udcff",  # a lone surrogate cannot even be encoded
    ],
)
def test_missing_or_malformed_parts_are_refused(header: str) -> None:
    assert verify_signature(SECRET, header, BODY) is False


def test_a_good_header_still_verifies() -> None:
    now = int(time.time())  # not NOW: the suite may reach this test minutes after import
    assert verify_signature(SECRET, sign(SECRET, BODY, now), BODY) is True


# --- IPv4 inside IPv6 -------------------------------------------------------------------

TEREDO_LOOPBACK = "2001:0:4136:e378:8000:ffff:80ff:fffe"  # client 127.0.0.1, stored inverted


@pytest.mark.parametrize(
    "host",
    [
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:10.0.0.1",  # IPv4-mapped
        "64:ff9b::7f00:1",  # NAT64 well-known prefix -> 127.0.0.1
        "2002:7f00:1::",  # 6to4 -> 127.0.0.1
        TEREDO_LOOPBACK,
    ],
)
def test_ipv6_forms_carrying_internal_ipv4_are_refused(host: str) -> None:
    with pytest.raises(PayloadError, match="refused"):
        check_callback_url(f"http://[{host}]/hook", WebhookConfig(secret="s"))


@pytest.mark.parametrize("host", ["::ffff:8.8.8.8", "2606:4700::1111"])
def test_ipv6_forms_carrying_public_addresses_are_allowed(host: str) -> None:
    check_callback_url(f"http://[{host}]/hook", WebhookConfig(secret="s"))
