"""The configuration server's HTTP face: ``POST /ScoutAPI/CXAPI.php`` (``text/xml``).

Every request is checked in this order: path and method (404/405), XML
(hardened parser: a DTD is refused), authentication method and
``ComponentAuth_V2015_01`` signature (bound to the certificate fingerprint
over HTTPS), then the function runs. Refusals before the function are
reported on the ``Response`` element with HTTP 200, as the CX does; an HTTP
status other than 200 means the request never reached the API.
"""

from __future__ import annotations

from fakes.inmage import auth, codes
from fakes.inmage.deployment import CxError, ScoutDeployment
from fakes.inmage.functions import HANDLERS
from fakes.inmage.wire import AUTH_METHOD, CxRequest, WireError, failed_response, parse_request
from fakes.inmage.wire import response as function_response
from fakes.vcenter.http import HttpRequest, HttpResponse

XML = (("Content-Type", "text/xml; charset=UTF-8"),)

ENTITY_EXPANSION = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Response [\n <!ENTITY a "lol">\n'
    b' <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
    b' <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n'
    b' <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">\n]>\n'
    b'<Response ID="1" Version="1.0" Returncode="0" Message="&d;"/>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Response [\n'
    b' <!ENTITY secret SYSTEM "file:///etc/passwd">\n]>\n'
    b'<Response ID="1" Version="1.0" Returncode="0" Message="ok"><Body>&secret;</Body></Response>'
)
HOSTILE = {"entity-expansion": ENTITY_EXPANSION, "external-entity": EXTERNAL_ENTITY}


class CxApi:
    """The HTTP application of one configuration server."""

    def __init__(self, deployment: ScoutDeployment, fingerprint: str = "") -> None:
        self.deployment = deployment
        #: SHA-256 (hex) of the served certificate; set when served over HTTPS.
        self.fingerprint = fingerprint
        self.calls: list[str] = []

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path != auth.API_PATH:
            return HttpResponse(404, b"Not Found")
        if request.method != "POST":
            return HttpResponse(405, b"Method Not Allowed", (("Allow", "POST"),))
        hostile = HOSTILE.get(self.deployment.faults.hostile_response)
        if hostile is not None:
            return HttpResponse(200, hostile, XML)
        return self._answer(request.body)

    def _answer(self, body: bytes) -> HttpResponse:
        try:
            request = parse_request(body)
        except WireError as exc:
            return HttpResponse(200, failed_response("", exc.code, exc.message), XML)
        if request.function in self.deployment.faults.unavailable:
            return HttpResponse(503, b"Service Unavailable")
        refusal = self._refusal(request)
        if refusal:
            return HttpResponse(
                200, failed_response(request.request_id, codes.AUTH_FAILED, refusal), XML
            )
        self.calls.append(request.function)
        return HttpResponse(200, self._run(request), XML)

    def _refusal(self, request: CxRequest) -> str:
        if request.auth_method != AUTH_METHOD:
            return f"Authentication method '{request.auth_method}' is not supported."
        if not request.access_key_id:
            return "AccessKeyID is missing."
        good = auth.verify(
            self.deployment.passphrase,
            request.signature,
            request.function,
            request.request_id,
            request.version,
            self.fingerprint,
        )
        return "" if good else "Authentication failed: the access signature does not match."

    def _run(self, request: CxRequest) -> bytes:
        handler = HANDLERS.get(request.function)
        if handler is None:
            message = f"Function '{request.function}' is not supported."
            return function_response(request, codes.UNKNOWN_FUNCTION, message, None)
        try:
            with self.deployment.lock:
                result = handler(self.deployment, request.body)
        except CxError as exc:
            return function_response(request, exc.code, exc.message, None)
        return function_response(request, codes.SUCCESS, "Success", result)
