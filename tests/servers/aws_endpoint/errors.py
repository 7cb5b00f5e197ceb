"""ApiError: the one error type. Every layer raises it; the protocol module renders it.

The code is the wire code AWS sends (for query services the model's error "code", e.g.
LimitExceeded for the LimitExceededFault shape). Messages never contain secrets.
"""


class ApiError(Exception):
    def __init__(self, code, message, status=400, sender=True, headers=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender
        self.headers = dict(headers or {})
        # awsJson only: the namespace Coral puts before the code in "__type"
        # ("com.amazon.coral.service#UnrecognizedClientException").
        self.json_namespace = None
        # Set by the dispatcher: which layer rejected the request (auth, parse, validate,
        # state, fault), for the request log.
        self.stage = None


def model_error(op_model, shape_name, message, fallback_status=400):
    """An ApiError for an error shape the operation declares.

    Raises RuntimeError if the operation does not declare it: the endpoint must only
    answer with errors AWS's model says the operation can return.
    """
    for shape in op_model.error_shapes:
        if shape.name == shape_name:
            meta = shape.metadata.get("error", {})
            code = meta.get("code", shape_name)
            status = meta.get("httpStatusCode", fallback_status)
            sender = meta.get("senderFault", status < 500)
            return ApiError(code, message, status=status, sender=sender)
    raise RuntimeError("%s does not declare error %s" % (op_model.name, shape_name))


# Errors every operation of a protocol can return although no model lists them
# (AWS's "common errors").
def throttling(protocol):
    if protocol == "json":
        return ApiError("ThrottlingException", "Rate exceeded", status=400)
    return ApiError("Throttling", "Rate exceeded", status=400)


def internal_failure():
    return ApiError(
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
        status=500,
        sender=False,
    )


def service_unavailable():
    return ApiError(
        "ServiceUnavailable",
        "The request has failed due to a temporary failure of the server.",
        status=503,
        sender=False,
    )
