"""A strict local AWS endpoint for cfdr's tests.

One loopback HTTP server answers CloudFront (rest-xml), App Runner (awsJson1.0),
CloudWatch and SNS (query) the way AWS does: every request's SigV4 signature is
recomputed with botocore's own signer, every request is parsed back into operation
parameters by the protocol rules of AWS's own service models (Debian's
python3-botocore) and validated against them, and the answers are serialized from
the same models, so a client that this endpoint accepts sends what AWS accepts.

Modules:
  models      which services exist, their botocore models, region rules
  request     the request as received (raw path, raw query, headers, body)
  sigv4       the SigV4 verifier
  errors      ApiError, the one error type every layer raises
  shapes      scalar conversions and example generation shared by the protocols
  restxml, awsjson, query
              one module per protocol: find the operation, parse the request into
              parameters, serialize results and errors
  validation  botocore's ParamValidator plus the constraints AWS enforces and
              botocore does not (max, enum, pattern)
  backend     the shared context (lock, settings, clock, ids), the call, the base class
  cloudfront, apprunner, cloudwatch, sns
              the service back ends (state and semantics)
  control     fault injection, request log, status hooks
  server      the HTTP server, dispatch and command line
  client      a botocore-based signing client used by the tests
See README.md in this folder for the command line and the control API.
"""
