"""Property tests of the JSON API from its own OpenAPI document (schemathesis).

Schemathesis generates requests from ``/api/v1/openapi.json`` (valid and, for a few, invalid
parameters) and checks every response: no server error, a documented status code and content
type, and a body that matches the documented schema (the page context, or the error envelope).
The app runs in-process over NHS England's bundled files; examples are few and derandomized, so
the run is quick and the same every time.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from nhs_league.dataset import Dataset
from nhs_league.ingest.nhse_nof import read_file
from nhs_league.methods.pack import load_pack
from nhs_league.web.app import create_app
from tests.conftest import ACUTE_Q1, MHC_Q4

_PACK = load_pack()
_APP = create_app(
    data=Dataset.from_publications([read_file(ACUTE_Q1, _PACK), read_file(MHC_Q4, _PACK)]),
    pack=_PACK,
)
_APP.state.web.warm()  # so no example pays for the first likely ranges (hypothesis deadlines)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _APP)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_document_lists_only_the_api() -> None:
    paths = schema.raw_schema["paths"]
    assert paths
    assert all(p.startswith("/api/v1/") for p in paths)


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
