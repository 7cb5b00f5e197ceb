"""Validation of parsed parameters against the input shape.

First botocore's own ParamValidator (required members, types, min lengths and ranges),
then what AWS's servers enforce and botocore does not: max lengths and ranges, list
sizes, enum values and the model's regular expression patterns. Every problem comes
back as a Violation; validate() never raises. Messages follow AWS's Coral wording
("1 validation error detected: Value 'x' at 'serviceName' failed to satisfy
constraint: ...").
"""

import re

from botocore.validate import ParamValidator

_pattern_cache = {}


class Violation:
    """kind: missing | type | min | max | enum | pattern | unknown."""

    def __init__(self, kind, path, message, value=None):
        self.kind = kind
        self.path = path
        self.message = message
        self.value = value

    def __repr__(self):
        return "Violation(%s, %s, %s)" % (self.kind, self.path, self.message)


def coral_path(path):
    """'SourceConfiguration.ImageRepository.ImageIdentifier' -> 'sourceConfiguration.imageRepository.imageIdentifier'."""
    out = []
    for part in path.split("."):
        out.append(part[:1].lower() + part[1:] if part else part)
    return ".".join(out)


def coral_message(violations):
    n = len(violations)
    head = "%d validation error%s detected: " % (n, "" if n == 1 else "s")
    return head + "; ".join(v.message for v in violations)


def _compile(pattern):
    """Java/Smithy pattern -> Python regex, or None when Python cannot express it.

    Python's re has no Unicode property classes; the model's tag patterns use
    \\p{L}, \\p{Z} and \\p{N}, which become \\w and \\s (a little more lenient than AWS
    for some separators, never stricter).
    """
    if pattern in _pattern_cache:
        return _pattern_cache[pattern]
    translated = (
        pattern.replace("\\p{L}", "\\w").replace("\\p{N}", "\\w").replace("\\p{Z}", "\\s")
    )
    try:
        compiled = re.compile(translated)
    except re.error:
        compiled = None
    _pattern_cache[pattern] = compiled
    return compiled


def _value_repr(value):
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _botocore_violations(params, shape):
    report = ParamValidator().validate(params, shape)
    out = []
    for reason, name, extra in report._errors:
        path = name[1:] if name.startswith(".") else name
        if reason == "missing required field":
            member = extra["required_name"]
            full = "%s.%s" % (path, member) if path else member
            out.append(
                Violation(
                    "missing",
                    full,
                    "Value null at '%s' failed to satisfy constraint: Member must not be null"
                    % coral_path(full),
                )
            )
        elif reason == "unknown field":
            full = "%s.%s" % (path, extra["unknown_param"]) if path else extra["unknown_param"]
            out.append(Violation("unknown", full, "Unknown member '%s'" % coral_path(full)))
        elif reason == "invalid type":
            out.append(
                Violation(
                    "type",
                    path,
                    "Value '%s' at '%s' is not of the expected type"
                    % (_value_repr(extra["param"]), coral_path(path)),
                    extra["param"],
                )
            )
        elif reason == "invalid length":
            out.append(
                Violation(
                    "min",
                    path,
                    "Value at '%s' failed to satisfy constraint: Member must have length "
                    "greater than or equal to %s" % (coral_path(path), extra["min_allowed"]),
                    extra["param"],
                )
            )
        elif reason == "invalid range":
            out.append(
                Violation(
                    "min",
                    path,
                    "Value '%s' at '%s' failed to satisfy constraint: Member must have value "
                    "greater than or equal to %s"
                    % (_value_repr(extra["param"]), coral_path(path), extra["min_allowed"]),
                    extra["param"],
                )
            )
        else:
            out.append(Violation("type", path, report._format_error((reason, name, extra))))
    return out


def _server_side(value, shape, path, out):
    t = shape.type_name
    meta = shape.metadata
    if value is None:
        return
    if t == "structure" and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value:
                _server_side(value[key], member, "%s.%s" % (path, key) if path else key, out)
        return
    if t == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                Violation(
                    "max",
                    path,
                    "Value at '%s' failed to satisfy constraint: Member must have length less "
                    "than or equal to %s" % (coral_path(path), meta["max"]),
                    len(value),
                )
            )
        for i, item in enumerate(value):
            _server_side(item, shape.member, "%s[%d]" % (path, i), out)
        return
    if t == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                Violation(
                    "max",
                    path,
                    "Value at '%s' failed to satisfy constraint: Member must have length less "
                    "than or equal to %s" % (coral_path(path), meta["max"]),
                )
            )
        for k, v in value.items():
            _server_side(k, shape.key, "%s(key)" % path, out)
            _server_side(v, shape.value, "%s.%s" % (path, k), out)
        return
    if t == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                Violation(
                    "max",
                    path,
                    "Value at '%s' failed to satisfy constraint: Member must have length less "
                    "than or equal to %s" % (coral_path(path), meta["max"]),
                    value,
                )
            )
        if shape.enum and value not in shape.enum:
            out.append(
                Violation(
                    "enum",
                    path,
                    "Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum "
                    "value set: [%s]" % (_value_repr(value), coral_path(path), ", ".join(shape.enum)),
                    value,
                )
            )
        pattern = meta.get("pattern")
        if pattern:
            compiled = _compile(pattern)
            if compiled is not None and not compiled.search(value):
                out.append(
                    Violation(
                        "pattern",
                        path,
                        "Value '%s' at '%s' failed to satisfy constraint: Member must satisfy "
                        "regular expression pattern: %s" % (_value_repr(value), coral_path(path), pattern),
                        value,
                    )
                )
        return
    if t in ("integer", "long", "float", "double") and not isinstance(value, bool):
        if isinstance(value, (int, float)) and "max" in meta and value > meta["max"]:
            out.append(
                Violation(
                    "max",
                    path,
                    "Value '%s' at '%s' failed to satisfy constraint: Member must have value "
                    "less than or equal to %s" % (value, coral_path(path), meta["max"]),
                    value,
                )
            )


def validate(params, shape):
    """All violations of params against shape (empty list when valid)."""
    if shape is None:
        return []
    out = _botocore_violations(params, shape)
    _server_side(params, shape, "", out)
    return out
