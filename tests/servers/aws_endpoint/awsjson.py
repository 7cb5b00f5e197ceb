"""The awsJson protocols (App Runner: awsJson1.0): routing, parsing, serialization.

The operation is named by X-Amz-Target "<targetPrefix>.<Operation>" on POST /, the body
is a JSON object with Content-Type application/x-amz-json-<jsonVersion>. Values are read
against the input shape: a value of the wrong JSON type is a SerializationException (as
Coral answers); members the shape does not know are ignored, as AWS does, but recorded
so the request log shows them.
"""

import json

from . import shapes
from .errors import ApiError
from .shapes import ShapeError, join


class JsonShapeError(ShapeError):
    """A value of the wrong JSON type (SerializationException)."""


class AwsJsonProtocol:
    name = "json"

    def __init__(self, model):
        self.model = model
        self.prefix = model.metadata["targetPrefix"]
        self.content_type = "application/x-amz-json-%s" % model.metadata.get("jsonVersion", "1.0")

    def find_operation(self, req):
        target = req.header("X-Amz-Target")
        if req.method != "POST" or req.raw_path != "/":
            raise ApiError("UnknownOperationException", "", status=404)
        if not target:
            raise ApiError("UnknownOperationException", "", status=400)
        prefix, _, name = target.partition(".")
        if prefix != self.prefix or name not in self.model.operation_names:
            raise ApiError("UnknownOperationException", "", status=400)
        ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != self.content_type:
            raise ApiError(
                "SerializationException",
                "Content-Type must be %s, not '%s'" % (self.content_type, ctype[:60]),
                status=400,
            )
        return self.model.operation_model(name)

    def parse(self, req, op):
        """Parameters of req for op; members the shape does not know go to req.ignored_members."""
        ignored = req.ignored_members
        text = req.body.decode("utf-8", "strict") if req.body else ""
        try:
            # An empty body reads as an empty object.
            doc = json.loads(text) if text.strip() else {}
        except ValueError as e:
            raise JsonShapeError("", "the body is not valid JSON (%s)" % e) from None
        if not isinstance(doc, dict):
            raise JsonShapeError("", "the body must be a JSON object")
        if op.input_shape is None:
            return {}
        return self._value(doc, op.input_shape, "", ignored)

    def _value(self, value, shape, path, ignored):
        t = shape.type_name
        if t == "structure":
            if not isinstance(value, dict):
                raise JsonShapeError(path, "expected an object")
            out = {}
            for k, v in value.items():
                if k not in shape.members:
                    ignored.append(join(path, k))
                    continue
                if v is None:
                    continue
                out[k] = self._value(v, shape.members[k], join(path, k), ignored)
            return out
        if t == "list":
            if not isinstance(value, list):
                raise JsonShapeError(path, "expected an array")
            return [self._value(v, shape.member, "%s[%d]" % (path, i), ignored) for i, v in enumerate(value) if v is not None]
        if t == "map":
            if not isinstance(value, dict):
                raise JsonShapeError(path, "expected an object")
            return {k: self._value(v, shape.value, join(path, k), ignored) for k, v in value.items() if v is not None}
        if t == "string":
            if not isinstance(value, str):
                raise JsonShapeError(path, "expected a string")
            return value
        if t in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise JsonShapeError(path, "expected an integer")
            if isinstance(value, float):
                if not value.is_integer():
                    raise JsonShapeError(path, "expected an integer, got %s" % value)
                value = int(value)
            lo, hi = shapes.INT32 if t == "integer" else shapes.INT64
            if value < lo or value > hi:
                raise JsonShapeError(path, "%d is out of range for %s" % (value, t))
            return value
        if t in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise JsonShapeError(path, "expected a number")
            return float(value)
        if t == "boolean":
            if not isinstance(value, bool):
                raise JsonShapeError(path, "expected true or false")
            return value
        if t == "timestamp":
            if isinstance(value, str):
                fmt = shapes.timestamp_format(shape, "iso8601")
                return shapes.parse_timestamp_text(value, fmt, path)
            return shapes.from_epoch(value, path)
        if t == "blob":
            if not isinstance(value, str):
                raise JsonShapeError(path, "expected a base64 string")
            return shapes.parse_blob(value, path)
        raise JsonShapeError(path, "unsupported type %s" % t)

    # ---- responses -------------------------------------------------------------
    def serialize(self, op, result, request_id):
        doc = self._out(result, op.output_shape) if op.output_shape is not None else {}
        body = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        headers = [("x-amzn-RequestId", request_id), ("Content-Type", self.content_type)]
        return 200, headers, body

    def _out(self, value, shape):
        t = shape.type_name
        if t == "structure":
            return {k: self._out(v, shape.members[k]) for k, v in value.items() if v is not None and k in shape.members}
        if t == "list":
            return [self._out(v, shape.member) for v in value]
        if t == "map":
            return {k: self._out(v, shape.value) for k, v in value.items()}
        if t == "timestamp":
            fmt = shapes.timestamp_format(shape, "unixtimestamp")
            return shapes.format_timestamp(value, fmt)
        if t == "blob":
            return shapes.format_scalar(value, shape)
        return value

    def serialize_error(self, err, request_id):
        message_key = "message"
        shape = self.model.shape_for(err.code) if err.code in self.model.shape_names else None
        if shape is not None and "Message" in shape.members:
            message_key = "Message"
        doc = {"__type": "%s#%s" % (err.json_namespace, err.code) if err.json_namespace else err.code}
        if err.message:
            doc[message_key] = err.message
        body = json.dumps(doc).encode("utf-8")
        headers = [
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", err.code),
            ("Content-Type", self.content_type),
        ]
        headers.extend(err.headers.items())
        return err.status, headers, body
