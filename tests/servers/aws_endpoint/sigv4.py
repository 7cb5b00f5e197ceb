"""SigV4 verification of a request as received, with botocore's own signer.

The verifier parses the Authorization header, checks the credential scope, the date and
the session token the way AWS does, then recomputes the signature with
botocore.auth.SigV4Auth over exactly what arrived: the method, the raw path (SigV4 for
services other than S3 encodes it once more), the query (AWS decodes and re-encodes each
name and value, so an equivalent encoding on the wire still verifies), the headers the
client listed in SignedHeaders with the values received, and the body.

Failures raise AuthFailure with a kind; the protocol layer turns the kind into the code
AWS uses for that protocol (see AUTH_ERRORS). Secrets, tokens and signatures never
appear in a message.
"""

import calendar
import email.utils
import hashlib
import hmac
import re
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from .errors import ApiError

MAX_SKEW_SECONDS = 15 * 60
ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")
_SIG_MSG = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)
_TOKEN_MSG = "The security token included in the request is invalid."


class AuthFailure(Exception):
    """kind: missing | incomplete | signature | unknown_key | token."""

    def __init__(self, kind, message, detail=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        # Canonical request and string to sign (no secrets) for the request log.
        self.detail = detail


# kind -> protocol -> (code, HTTP status). rest-xml and query share AWS's query-style
# codes; awsJson uses the Coral exception names.
AUTH_ERRORS = {
    "missing": {
        "json": ("MissingAuthenticationTokenException", 403),
        "xml": ("MissingAuthenticationToken", 403),
    },
    "incomplete": {
        "json": ("IncompleteSignatureException", 400),
        "xml": ("IncompleteSignature", 400),
    },
    "signature": {
        "json": ("InvalidSignatureException", 403),
        "xml": ("SignatureDoesNotMatch", 403),
    },
    "unknown_key": {
        "json": ("UnrecognizedClientException", 403),
        "xml": ("InvalidClientTokenId", 403),
    },
    "token": {
        "json": ("UnrecognizedClientException", 403),
        "xml": ("InvalidClientTokenId", 403),
    },
}


def auth_api_error(failure, protocol):
    family = "json" if protocol == "json" else "xml"
    code, status = AUTH_ERRORS[failure.kind][family]
    err = ApiError(code, failure.message, status=status)
    if family == "json":
        # Coral's authentication errors carry their namespace; clients take what follows '#'.
        err.json_namespace = "com.amazon.coral.service"
    return err


class Credential:
    def __init__(self, access_key, secret_key, token=None):
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token

    @classmethod
    def parse(cls, text):
        """AKID:SECRET[:SESSION_TOKEN] (the token may itself contain ':')."""
        parts = text.split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError("credentials must be AKID:SECRET[:SESSION_TOKEN]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None)


class Verified:
    """What a verified request was signed for."""

    def __init__(self, access_key, date, region, service, signed_headers, amz_date):
        self.access_key = access_key
        self.date = date
        self.region = region
        self.service = service
        self.signed_headers = signed_headers
        self.amz_date = amz_date


class AuthorizationHeader:
    def __init__(self, access_key, date, region, service, terminator, signed_headers, signature):
        self.access_key = access_key
        self.date = date
        self.region = region
        self.service = service
        self.terminator = terminator
        self.signed_headers = signed_headers
        self.signature = signature


def parse_authorization(value):
    """Parse 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'.

    Raises AuthFailure('incomplete') the way AWS words it.
    """
    value = value.strip()
    algorithm, _, rest = value.partition(" ")
    if algorithm != ALGORITHM:
        raise AuthFailure("incomplete", "Unsupported AWS 'algorithm': '%s'" % algorithm[:40])
    fields = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, eq, val = part.partition("=")
        if not eq:
            raise AuthFailure(
                "incomplete",
                "Authorization header requires each component to be of the form key=value.",
            )
        fields[key.strip()] = val.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise AuthFailure(
            "incomplete",
            " ".join("Authorization header requires '%s' parameter." % k for k in missing),
        )
    scope = fields["Credential"].split("/")
    if len(scope) != 5:
        raise AuthFailure(
            "incomplete",
            "Credential should be scoped to a valid region, service and date: "
            "AKID/YYYYMMDD/region/service/aws4_request.",
        )
    akid, date, region, service, terminator = scope
    if terminator != "aws4_request":
        raise AuthFailure(
            "signature", "Credential should be scoped with a valid terminator: 'aws4_request'."
        )
    signed = fields["SignedHeaders"].split(";")
    return AuthorizationHeader(akid, date, region, service, terminator, signed, fields["Signature"])


class _AsReceivedSigV4(SigV4Auth):
    """botocore's SigV4Auth, fed the headers the client signed instead of choosing them."""

    def __init__(self, credentials, service, region, signed_headers):
        super().__init__(credentials, service, region)
        self._as_received = signed_headers

    def headers_to_sign(self, request):
        return self._as_received


def _amz_date_from_http_date(value):
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(email.utils.mktime_tz(parsed)))


def _epoch(amz_date):
    return calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))


def _fmt(epoch):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


class SigV4Verifier:
    """Verifies requests against a set of known credentials.

    credentials: dict access key -> Credential. clock: callable returning epoch seconds
    (tests move it). Thread safe: holds no per-request state.
    """

    def __init__(self, credentials, clock=time.time, max_skew=MAX_SKEW_SECONDS):
        self.credentials = dict(credentials)
        self.clock = clock
        self.max_skew = max_skew

    def parse(self, req):
        """Parse the Authorization header; raise AuthFailure('missing') when absent."""
        value = req.header("Authorization")
        if value is None:
            raise AuthFailure("missing", "Request is missing Authentication Token")
        return parse_authorization(value)

    def verify(self, req, auth=None, expect_service=None, region_ok=None):
        """Verify req; return Verified or raise AuthFailure.

        expect_service: the signing name the request was routed to. region_ok: callable
        region -> bool (a global service accepts exactly one region).
        """
        if auth is None:
            auth = self.parse(req)
        amz_date = req.header("X-Amz-Date")
        date_header = "x-amz-date"
        if amz_date is None and req.header("Date") is not None:
            amz_date = _amz_date_from_http_date(req.header("Date"))
            date_header = "date"
        if amz_date is None:
            raise AuthFailure(
                "incomplete",
                "Authorization header requires existence of either a 'X-Amz-Date' or a "
                "'Date' header. Authorization=%s Credential=%s/..." % (ALGORITHM, auth.access_key),
            )
        amz_date = amz_date.strip()
        if not _AMZ_DATE_RE.match(amz_date):
            raise AuthFailure(
                "incomplete", "X-Amz-Date must be in the ISO8601 basic format YYYYMMDD'T'HHMMSS'Z'."
            )
        cred = self.credentials.get(auth.access_key)
        if cred is None:
            raise AuthFailure("unknown_key", _TOKEN_MSG)
        if auth.date != amz_date[:8]:
            raise AuthFailure(
                "signature",
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                "date from HTTP: '%s' != '%s', from '%s'." % (auth.date, amz_date[:8], amz_date),
            )
        if expect_service is not None and auth.service != expect_service:
            raise AuthFailure(
                "signature", "Credential should be scoped to correct service: '%s'." % expect_service
            )
        if region_ok is not None and not region_ok(auth.region):
            raise AuthFailure(
                "signature", "Credential should be scoped to a valid region, not '%s'." % auth.region
            )
        signed_names = auth.signed_headers
        if "host" not in signed_names and ":authority" not in signed_names:
            raise AuthFailure(
                "incomplete", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
            )
        if date_header not in signed_names:
            raise AuthFailure(
                "incomplete",
                "'%s' must be a 'SignedHeader' in the AWS Authorization." % date_header.title(),
            )
        now = self.clock()
        signed_at = _epoch(amz_date)
        if signed_at < now - self.max_skew:
            raise AuthFailure(
                "signature",
                "Signature expired: %s is now earlier than %s (%s - %d min.)"
                % (amz_date, _fmt(now - self.max_skew), _fmt(now), self.max_skew // 60),
            )
        if signed_at > now + self.max_skew:
            raise AuthFailure(
                "signature",
                "Signature not yet current: %s is still later than %s (%s + %d min.)"
                % (amz_date, _fmt(now + self.max_skew), _fmt(now), self.max_skew // 60),
            )
        token = req.header("X-Amz-Security-Token")
        if cred.token is not None:
            if token is None or not hmac.compare_digest(token.encode(), cred.token.encode()):
                raise AuthFailure("token", _TOKEN_MSG)
        elif token is not None:
            raise AuthFailure("token", _TOKEN_MSG)
        body_hash = hashlib.sha256(req.body).hexdigest()
        declared = req.header("X-Amz-Content-SHA256")
        if declared is not None and declared.strip() != body_hash:
            raise AuthFailure(
                "signature",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        expected, canonical, sts = self.compute(req, auth, cred, amz_date)
        if not hmac.compare_digest(expected, auth.signature.strip().lower()):
            detail = {"canonical_request": canonical, "string_to_sign": sts}
            raise AuthFailure("signature", _SIG_MSG, detail=detail)
        return Verified(auth.access_key, auth.date, auth.region, auth.service, signed_names, amz_date)

    def compute(self, req, auth, cred, amz_date):
        """Return (signature, canonical request, string to sign) for req as received.

        The session token value is redacted from the returned canonical request.
        """
        signed = HTTPHeaders()
        for name in auth.signed_headers:
            values = req.header_values(name)
            if name == ":authority":
                values = req.header_values("host")
            if not values:
                # A signed header that did not arrive: AWS signs it as empty and the
                # signature cannot match.
                values = [""]
            for v in values:
                signed[name] = v
        host = req.header("Host") or "localhost"
        aws_req = AWSRequest(method=req.method, url="http://%s%s" % (host, req.raw_path), data=req.body)
        aws_req.params = req.query_pairs()
        aws_req.context["timestamp"] = amz_date
        for name in auth.signed_headers:
            # canonical_request() looks for X-Amz-Content-SHA256 in request.headers.
            if name == "x-amz-content-sha256":
                aws_req.headers["X-Amz-Content-SHA256"] = req.header(name).strip()
        creds = Credentials(cred.access_key, cred.secret_key, cred.token)
        signer = _AsReceivedSigV4(creds, auth.service, auth.region, signed)
        canonical = signer.canonical_request(aws_req)
        sts = signer.string_to_sign(aws_req, canonical)
        signature = signer.signature(sts, aws_req)
        if cred.token:
            canonical = canonical.replace(cred.token, "<redacted>")
        return signature, canonical, sts
