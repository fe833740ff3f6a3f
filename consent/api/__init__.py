"""The JSON API for JUNOPOS, /api/v1/ (django-ninja): `api` is mounted by junoprivacy/urls.py.

The OpenAPI document is /api/v1/openapi.json; there is no docs page (Swagger loads from a CDN,
which the CSP forbids). Bearer tokens, so no CSRF.

Writing an endpoint on it (requests_portal/apis.py does, mounted by junoprivacy/urls.py): import
from the submodules:

    from consent.api.auth import ClientAuth, require_merchant
    from consent.api.errors import AUTH_ERRORS, ApiError, errors
    from consent.api.idempotency import idempotent

    @router.post("", response={201: RequestOut, **errors(*AUTH_ERRORS, 409)},
                 auth=ClientAuth(ApiClient.Scope.REQUEST_WRITE))
    def submit(request, payload: RequestIn):          # name the body parameter `payload`
        client = request.auth                          # the ApiClient (token, scope, rate limit checked)
        require_merchant(client, payload.merchant_id, write=True)   # 403 merchant_not_allowed
        def work():                                    # runs in a transaction, once per key
            ...
            return 201, {...JSON-ready dict...}        # the same body now and on a replay
        return idempotent(request, work=work, subject=subject)  # subject: a SubjectRef (or None)

- Auth: `ClientAuth(scope)` answers 401 unauthenticated, 429 rate_limited (Retry-After) and 403
  scope_missing before the body is read; `ClientAuth()` needs no scope.
- Errors: raise `ApiError(status, code, message, field=...)`; a ConsentError becomes 422 with its
  code and field, a RetentionError 409, `Http404` 404 not_found, pydantic's validation 422
  invalid with `details` per field (named like `checks.3.purpose`). See consent/api/errors.py.
  Declare every status in `response=` (errors(...)): the tests validate bodies against the document.
- Idempotency: see consent/api/idempotency.py; an `Idempotency-Key` replays the stored answer
  with `Idempotent-Replayed: true`, or 409 idempotency_conflict for another body or endpoint.
- Tests: consent/tests/openapi.py `ApiCaller` validates every answer against the document.
"""

from ninja import NinjaAPI

from . import errors

api = NinjaAPI(
    title="JUNO Privacy API",
    version="1",
    urls_namespace="api-v1",
    description="The API through which JUNOPOS asks for and reports consent, disclosures, churn, policy "
    "acceptance and data-subject requests. Errors: {\"error\": {\"code\", \"message\", \"field\", \"details\"}}.",
    docs_url=None,
)
errors.install(api)

api.add_router("/consent", "consent.api.consent.router")
api.add_router("/disclosures", "consent.api.disclosures.router")
api.add_router("/merchants", "consent.api.merchants.router")
api.add_router("/policy", "consent.api.policy.router")
# /requests (requests_portal/apis.py) is added by junoprivacy/urls.py: consent imports no app above it.
