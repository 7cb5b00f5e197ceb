"""Scalar conversions and walkers over botocore shapes, shared by the protocol modules.

Parsers turn wire text into the Python types botocore's ParamValidator expects (int,
bool, float, str, bytes, tz-aware datetime); serializers turn the back ends' values
(datetimes or epoch floats for timestamps) into wire text. ShapeError carries a path
and a reason; each protocol maps it to its own error code.
"""

import base64
import binascii
import calendar
import datetime
import email.utils
import re

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_INT_RE = re.compile(r"^[+-]?\d+$")
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})$"
)


class ShapeError(Exception):
    """A value that cannot be read as its shape. path is dotted (a.b[0].c)."""

    def __init__(self, path, reason):
        super().__init__("%s: %s" % (path or "input", reason))
        self.path = path or "input"
        self.reason = reason


def join(path, name):
    return "%s.%s" % (path, name) if path else name


def parse_int(text, shape, path):
    text = text.strip()
    if not _INT_RE.match(text):
        raise ShapeError(path, "'%s' is not a valid %s" % (text[:40], shape.type_name))
    value = int(text)
    lo, hi = INT32 if shape.type_name == "integer" else INT64
    if value < lo or value > hi:
        raise ShapeError(path, "'%s' is out of range for %s" % (text[:40], shape.type_name))
    return value


def parse_float(text, path):
    try:
        return float(text.strip())
    except ValueError:
        raise ShapeError(path, "'%s' is not a valid number" % text[:40]) from None


def parse_bool(text, path):
    text = text.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    raise ShapeError(path, "'%s' is not a valid boolean (true or false)" % text[:40])


def parse_blob(text, path):
    try:
        return base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ShapeError(path, "value is not valid base64") from None


def parse_iso8601(text, path):
    m = _ISO_RE.match(text.strip())
    if not m:
        raise ShapeError(path, "'%s' is not an ISO 8601 timestamp" % text[:40])
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7)
    micro = int(round(float(frac) * 1e6)) if frac else 0
    tz = m.group(8)
    try:
        value = datetime.datetime(year, month, day, hour, minute, second, min(micro, 999999))
    except ValueError:
        raise ShapeError(path, "'%s' is not a valid date" % text[:40]) from None
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        value -= sign * offset
    return value.replace(tzinfo=datetime.timezone.utc)


def parse_http_date(text, path):
    parsed = email.utils.parsedate_tz(text)
    if parsed is None:
        raise ShapeError(path, "'%s' is not an HTTP date" % text[:40])
    return datetime.datetime.fromtimestamp(email.utils.mktime_tz(parsed), datetime.timezone.utc)


def from_epoch(value, path):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ShapeError(path, "timestamp must be a number of seconds since the epoch")
    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)


def parse_timestamp_text(text, fmt, path):
    """Parse a timestamp written as text in the given format (iso8601|rfc822|unixtimestamp)."""
    if fmt == "rfc822":
        return parse_http_date(text, path)
    if fmt == "unixtimestamp":
        return from_epoch(parse_float(text, path), path)
    return parse_iso8601(text, path)


def to_datetime(value):
    """Back ends keep timestamps as epoch floats or datetimes; return an aware datetime."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc)
    return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc)


def format_timestamp(value, fmt):
    dt = to_datetime(value)
    if fmt == "unixtimestamp":
        return calendar.timegm(dt.timetuple()) + dt.microsecond / 1e6
    if fmt == "rfc822":
        return email.utils.formatdate(calendar.timegm(dt.timetuple()), usegmt=True)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def format_scalar(value, shape):
    """Text for a scalar in an XML or query document."""
    t = shape.type_name
    if t == "boolean":
        return "true" if value else "false"
    if t == "blob":
        if isinstance(value, str):
            value = value.encode("utf-8")
        return base64.b64encode(value).decode("ascii")
    if t in ("float", "double"):
        return repr(float(value))
    return str(value)


def timestamp_format(shape, protocol_default):
    return (shape.serialization.get("timestampFormat") or protocol_default).lower()


def strip_none(value):
    """Drop None members and entries, recursively (ArgumentGenerator leaves them)."""
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value if v is not None]
    return value


def normalize(value):
    """A comparable form: aware datetimes in UTC, bytes for blobs, dicts unordered."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, datetime.datetime):
        return to_datetime(value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


class ExampleGenerator:
    """Rich example values for a shape, for round-trip tests of parsers and serializers.

    Strings carry characters that need escaping (space, '&', '<', '+', '/', non-ASCII)
    except where the wire cannot carry them (headers: ASCII only). Enums take a valid
    value, numbers respect min/max, lists and maps have two entries. Recursion stops at
    the given depth.
    """

    def __init__(self, max_depth=12, ascii_only=False):
        self.max_depth = max_depth
        self.ascii_only = ascii_only
        self.counter = 0

    def generate(self, shape, name="v", depth=0, location=None):
        self.counter += 1
        t = shape.type_name
        if t == "structure":
            out = {}
            if depth >= self.max_depth:
                return out
            for mname, mshape in shape.members.items():
                loc = mshape.serialization.get("location")
                if mshape.serialization.get("eventpayload") or mshape.serialization.get("eventstream"):
                    continue
                if shape.metadata.get("union") and out:
                    break
                if shape.is_document_type:
                    continue
                out[mname] = self.generate(mshape, mname, depth + 1, loc)
            return out
        if t == "list":
            if depth >= self.max_depth:
                return []
            return [self.generate(shape.member, name, depth + 1, location) for _ in range(2)]
        if t == "map":
            if depth >= self.max_depth:
                return {}
            out = {}
            for i in range(2):
                key = self.generate(shape.key, "%sKey%d" % (name, i), depth + 1, location)
                out[key] = self.generate(shape.value, name, depth + 1, location)
            return out
        if t == "string":
            if shape.enum:
                return shape.enum[self.counter % len(shape.enum)]
            if location in ("header", "headers") or self.ascii_only:
                text = "%s-%d ok" % (name, self.counter)
            elif location == "uri":
                text = "%s %d/é" % (name, self.counter)
            else:
                text = "%s %d & <x> +/é" % (name, self.counter)
            hi = shape.metadata.get("max")
            if hi is not None and len(text) > hi:
                text = text[:hi]
            lo = shape.metadata.get("min", 0)
            if len(text) < lo:
                text = text + "x" * (lo - len(text))
            return text
        if t in ("integer", "long"):
            lo = shape.metadata.get("min", 0)
            hi = shape.metadata.get("max", lo + 100)
            return int(lo + (self.counter % (int(hi) - int(lo) + 1)))
        if t in ("float", "double"):
            return 1.5 + self.counter
        if t == "boolean":
            return self.counter % 2 == 0
        if t == "timestamp":
            return datetime.datetime(2024, 1, 2, 3, 4, 5 + self.counter % 50, tzinfo=datetime.timezone.utc)
        if t == "blob":
            return b"blob\x00\xff" + name.encode("ascii", "ignore")
        return None
