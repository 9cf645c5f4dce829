"""One place that hides secrets in URLs and messages, for logs, errors and `/healthz`.

Secrets hide in a URL's userinfo (`user:pass@`, `:pass@` for Redis), in its query
(`?password=`, `sslpassword=`, `token=`, …) and in libpq keyword DSNs (`password=…`).
A value may be percent-encoded or quoted; every form is masked, whatever its case.
The function is pure so it can be used anywhere, including in exception messages.
"""

from __future__ import annotations

import re

MASK = "***"

# Names whose value is a secret, as query parameters or DSN keywords (case-insensitive).
# A name matches when it ends with one of these words, so `sslpassword`, `access_token`,
# `client_secret` and `api-key` are covered too.
_SECRET_NAME = r"[\w.\-]*?(?:password|passwd|pwd|pass|secret|token|api[_\-]?key|apikey|auth)"

# scheme://user:secret@ or scheme://:secret@ ; the secret runs to the last `@` before the
# path, so an unencoded `@` or `:` in it is masked whole.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][\w+.\-]*://[^\s/?#@:]*:)(?P<secret>[^\s/?#]*)@")

# name=value in a query string or keyword DSN; the value may be '…'-quoted (libpq) or
# "…"-quoted, or else runs to the next separator (an unterminated quote included: better
# to mask too much than to leave the tail of a secret).
_PAIR = re.compile(
    rf"(?P<head>(?<![\w.\-/])(?P<name>{_SECRET_NAME})\s*[=:]\s*)"
    r"(?P<secret>'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|[^\s&;,#]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with every URL password, secret query parameter and DSN password as ***."""
    text = _USERINFO.sub(lambda m: f"{m['head']}{MASK}@", text)
    return _PAIR.sub(lambda m: f"{m['head']}{MASK}", text)


__all__ = ["MASK", "redact"]
