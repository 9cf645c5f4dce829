"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): whatever
a client sends, no 5xx, and every response conforms to the documented schema."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection

from baton.http import api_key_auth, create_app
from baton.webhooks import WebhookConfig
from tests.api.conftest import ACME, GLOBEX, KEYS
from tests.api.sample import make_app

_folder = Path(tempfile.mkdtemp(prefix="baton-fuzz-"))
atexit.register(shutil.rmtree, _folder, True)
# Private callback URLs allowed: "schema-valid" must mean "accepted" for the fuzzer.
HOOKS = WebhookConfig(secret="fuzz", allow_private=True)
APP = make_app(f"sqlite:///{_folder}/baton.db", webhooks=HOOKS)
API = create_app(APP, auth=api_key_auth(KEYS))
schema = schemathesis.openapi.from_asgi("/openapi.json", API)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_never_fails_and_keeps_to_its_schema(case: schemathesis.Case) -> None:
    # Validation is lenient as FastAPI's is ("5" is accepted for an int), so "the API
    # accepted schema-violating data" is not a failure here; everything else is.
    _fresh_key(case)
    case.call_and_validate(headers=ACME, excluded_checks=[negative_data_rejection])


_serial = itertools.count()


def _fresh_key(case: schemathesis.Case) -> None:
    """The fuzzer draws few distinct Idempotency-Keys; reusing one for another request is
    a 422 by design (tests/api/test_enqueue.py), so each case gets a key of its own."""
    if case.headers and "Idempotency-Key" in case.headers:
        key = case.headers["Idempotency-Key"][:200]  # the header allows 255 characters
        case.headers["Idempotency-Key"] = f"{key}-{next(_serial)}"


class _Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """The stateful phase: schemathesis follows the links it infers (enqueue → get →
    cancel → retry → events) with one tenant's key, checking every response."""

    headers: dict[str, str] = ACME

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
        _fresh_key(case)
        return {"headers": self.headers}

    def validate_response(self, response: object, case: schemathesis.Case, **kw: object) -> None:
        case.validate_response(response, excluded_checks=[negative_data_rejection])  # type: ignore[arg-type]


class _GlobexWorkflow(_Workflow):
    headers = GLOBEX


_STATEFUL = settings(
    max_examples=15,
    stateful_step_count=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
_Workflow.TestCase.settings = _STATEFUL
_GlobexWorkflow.TestCase.settings = _STATEFUL
TestAcmeWorkflow = _Workflow.TestCase
TestGlobexWorkflow = _GlobexWorkflow.TestCase
