"""`redact` hides a secret wherever a URL, query or keyword DSN carries it."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from baton.backends import redact as backends_redact
from baton.cli.output import redact as cli_redact
from baton.redact import redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://me:s3cret@db/baton", "postgresql://me:***@db/baton"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql://db/baton?password=s3cret", "postgresql://db/baton?password=***"),
        (
            "postgresql://db/b?sslmode=require&SSLPassword=s3cret",
            "postgresql://db/b?sslmode=require&SSLPassword=***",
        ),
        ("https://x/cb?access_token=s3cret&n=1", "https://x/cb?access_token=***&n=1"),
        ("host=db password='s 3cret' user=me", "host=db password=*** user=me"),
        ("host=db PASSWORD=s3cret", "host=db PASSWORD=***"),
        ("sqlite:///var/baton.db", "sqlite:///var/baton.db"),
        ("redis://token:s3cret@cache/0", "redis://token:***@cache/0"),  # a user named token
        ("postgresql://me@db/baton?pool_size=4", "postgresql://me@db/baton?pool_size=4"),
    ],
)
def test_known_forms(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_the_old_names_are_the_same_function() -> None:
    assert backends_redact is redact and cli_redact is redact


SECRETS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=6,
    max_size=24,
).filter(lambda s: s.strip() == s and "*" not in s)

NAMES = st.sampled_from(
    ["password", "PassWord", "sslpassword", "token", "access_token", "secret", "client_secret"]
)


def _forms(secret: str, name: str) -> list[str]:
    enc = quote(secret, safe="")
    return [
        f"postgresql://me:{enc}@127.0.0.1:5432/db",
        f"redis://:{enc}@127.0.0.1:6379/0",
        f"postgresql://127.0.0.1/db?{name}={enc}",
        f"postgresql://127.0.0.1/db?sslmode=disable&{name}={enc}&pool_size=2",
        f"connection to host=127.0.0.1 {name}='{secret.replace(chr(39), '')}' failed",
        f"error: could not open postgresql://u:{enc}@h/db?x=1 ({name}={enc})",
    ]


@given(secret=SECRETS, name=NAMES)
def test_a_secret_never_survives_in_any_position(secret: str, name: str) -> None:
    for text, blank in zip(_forms(secret, name), _forms("", name), strict=True):
        shown = redact(text)
        secret_in_form = secret.replace("'", "") if "'" in blank else quote(secret, safe="")
        assume(secret_in_form not in blank)  # a "secret" that is part of the URL itself
        assert secret_in_form not in shown, (text, shown)
        assert "***" in shown
