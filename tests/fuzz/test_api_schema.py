"""Schemathesis over `/schema`: whatever it generates for each JSON API operation, nothing answers 5xx.

Bounded for CI: a few derandomized examples per operation and generation mode (valid and invalid
data), so a run is quick and repeatable. The operations are walked inside one test because the
app needs the test database, which exists only once the session fixtures have run.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.factories import make_tenant
from tests.web.helpers import make_thread

EXAMPLES = 5


def test_no_operation_answers_a_server_error(app: Any, session: Any) -> None:
    tenant = make_tenant(session)
    make_thread(session, tenant)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: Any) -> None:
                response = case.call(headers=tenant.auth)
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} query={case.query} body={case.body!r:.200}"
                    f" -> {response.status_code}")

            try:
                call()
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
            except Exception as exc:  # schemathesis could not build a request: not a server error
                if "Unsatisfiable" not in type(exc).__name__:
                    failures.append(f"{operation.label}: {type(exc).__name__}: {exc}"[:300])
    assert not failures, "\n".join(failures)
