"""The query protocol (CloudWatch, SNS): routing, parsing, serialization.

A request is Action=<Operation>&Version=<apiVersion> plus the parameters, in an
application/x-www-form-urlencoded POST body (or the query of a GET). Parameters are
flattened the way botocore's QuerySerializer writes them: structure members as
"Name.Member", lists as "Name.member.N" (or the member's locationName, or "Name.N" when
flattened, indexes from 1), maps as "Name.entry.N.key"/".value", an empty list as
"Name=". They are read back into a tree first, then against the input shape.
"""

import xml.etree.ElementTree as ET

from . import shapes
from .errors import ApiError
from .request import decode_pairs
from .shapes import ShapeError, join


class QueryShapeError(ShapeError):
    pass


class QueryProtocol:
    name = "query"

    def __init__(self, model):
        self.model = model
        self.namespace = model.metadata.get("xmlNamespace")
        self.version = model.metadata["apiVersion"]

    def _pairs(self, req):
        if req.method == "POST":
            ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/x-www-form-urlencoded":
                raise ApiError(
                    "MalformedQueryString",
                    "The request body must be application/x-www-form-urlencoded.",
                    status=400,
                )
            try:
                text = req.body.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError("MalformedQueryString", "The request body is not valid UTF-8.", status=400) from None
            return decode_pairs(text, plus_is_space=True)
        if req.method == "GET":
            return req.query_pairs()
        raise ApiError("InvalidAction", "The HTTP method %s is not supported." % req.method[:10], status=400)

    def find_operation(self, req):
        pairs = self._pairs(req)
        req.form = pairs
        values = {}
        for k, v in pairs:
            values.setdefault(k, []).append(v)
        action = values.get("Action", [None])[0]
        version = values.get("Version", [None])[0]
        if not action:
            raise ApiError("MissingAction", "Missing Action", status=400)
        if action not in self.model.operation_names:
            raise ApiError("InvalidAction", "Could not find operation %s for version %s" % (action[:60], (version or "NO_VERSION_SPECIFIED")[:20]), status=400)
        if version != self.version:
            raise ApiError(
                "InvalidAction",
                "Could not find operation %s for version %s" % (action, (version or "NO_VERSION_SPECIFIED")[:20]),
                status=400,
            )
        return self.model.operation_model(action)

    def parse(self, req, op):
        pairs = req.form
        if pairs is None:
            pairs = self._pairs(req)
        tree = {}
        for key, value in pairs:
            if key in ("Action", "Version"):
                continue
            node = tree
            parts = key.split(".")
            for part in parts[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {"": child} if child is not None else {}
                    node[part] = child
                node = child
            last = parts[-1]
            if isinstance(node.get(last), dict):
                node[last][""] = value
            elif last in node:
                raise QueryShapeError(key, "parameter %s appears more than once" % key)
            else:
                node[last] = value
        if op.input_shape is None:
            return {}
        return self._structure(tree, op.input_shape, "", req.ignored_members)

    def _member_name(self, shape, default):
        return shape.serialization.get("name", default)

    def _structure(self, node, shape, path, ignored):
        if not isinstance(node, dict):
            raise QueryShapeError(path, "expected members, got a value")
        out = {}
        known = set()
        for name, member in shape.members.items():
            wire = self._member_name(member, name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                item = member.member.serialization.get("name")
                if item:
                    wire = item
            known.add(wire)
            if wire not in node:
                continue
            out[name] = self._value(node[wire], member, join(path, name), ignored)
        for key in node:
            if key not in known and key != "":
                ignored.append(join(path, key))
        return out

    def _value(self, node, shape, path, ignored):
        t = shape.type_name
        if t == "structure":
            return self._structure(node, shape, path, ignored)
        if t == "list":
            if node == "" or (isinstance(node, dict) and list(node) == [""] and node[""] == ""):
                return []
            if not isinstance(node, dict):
                raise QueryShapeError(path, "expected list entries")
            if shape.serialization.get("flattened"):
                entries = node
            else:
                item = shape.member.serialization.get("name", "member")
                if set(node) - {item}:
                    raise QueryShapeError(path, "unexpected list parameter %s" % sorted(set(node) - {item})[0])
                entries = node.get(item, {})
                if not isinstance(entries, dict):
                    raise QueryShapeError(path, "expected indexed list entries")
            return [self._value(v, shape.member, "%s[%d]" % (path, i - 1), ignored) for i, v in self._indexed(entries, path)]
        if t == "map":
            if not isinstance(node, dict):
                raise QueryShapeError(path, "expected map entries")
            if shape.serialization.get("flattened"):
                entries = node
            else:
                if set(node) - {"entry"}:
                    raise QueryShapeError(path, "unexpected map parameter")
                entries = node.get("entry", {})
            key_name = shape.key.serialization.get("name", "key")
            value_name = shape.value.serialization.get("name", "value")
            out = {}
            for _, entry in self._indexed(entries, path):
                if not isinstance(entry, dict) or key_name not in entry:
                    raise QueryShapeError(path, "map entry without %s" % key_name)
                key = self._value(entry[key_name], shape.key, path, ignored)
                out[key] = self._value(entry.get(value_name, ""), shape.value, join(path, str(key)), ignored)
            return out
        if isinstance(node, dict):
            if list(node) != [""]:
                raise QueryShapeError(path, "expected a value, got members")
            node = node[""]
        if t == "string":
            return node
        if t in ("integer", "long"):
            return shapes.parse_int(node, shape, path)
        if t in ("float", "double"):
            return shapes.parse_float(node, path)
        if t == "boolean":
            return shapes.parse_bool(node, path)
        if t == "timestamp":
            return shapes.parse_timestamp_text(node, shapes.timestamp_format(shape, "iso8601"), path)
        if t == "blob":
            return shapes.parse_blob(node, path)
        raise QueryShapeError(path, "unsupported type %s" % t)

    def _indexed(self, entries, path):
        """(index, node) sorted by index; indexes must be 1..N without gaps."""
        items = []
        for k, v in entries.items():
            if not k.isdigit() or k.startswith("0"):
                raise QueryShapeError(path, "list index '%s' is not a positive integer" % k[:20])
            items.append((int(k), v))
        items.sort()
        if [i for i, _ in items] != list(range(1, len(items) + 1)):
            raise QueryShapeError(path, "list indexes must run from 1 without gaps")
        return items

    # ---- responses -------------------------------------------------------------
    def serialize(self, op, result, request_id):
        root = ET.Element(op.name + "Response")
        if self.namespace:
            root.set("xmlns", self.namespace)
        shape = op.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", op.name + "Result")
            container = ET.SubElement(root, wrapper)
            self._fill(container, result or {}, shape)
        meta = ET.SubElement(root, "ResponseMetadata")
        ET.SubElement(meta, "RequestId").text = request_id
        body = b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8")
        return 200, [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")], body

    def _fill(self, node, value, shape):
        t = shape.type_name
        if t == "structure":
            for name, member in shape.members.items():
                if name not in value or value[name] is None:
                    continue
                wire = member.serialization.get("name", name)
                if member.type_name == "list" and member.serialization.get("flattened"):
                    for item in value[name]:
                        self._fill(ET.SubElement(node, wire), item, member.member)
                    continue
                self._fill(ET.SubElement(node, wire), value[name], member)
        elif t == "list":
            item = shape.member.serialization.get("name", "member")
            for v in value:
                self._fill(ET.SubElement(node, item), v, shape.member)
        elif t == "map":
            key_name = shape.key.serialization.get("name", "key")
            value_name = shape.value.serialization.get("name", "value")
            for k, v in value.items():
                entry = ET.SubElement(node, "entry")
                self._fill(ET.SubElement(entry, key_name), k, shape.key)
                self._fill(ET.SubElement(entry, value_name), v, shape.value)
        elif t == "timestamp":
            node.text = shapes.format_timestamp(value, shapes.timestamp_format(shape, "iso8601"))
        else:
            node.text = shapes.format_scalar(value, shape)

    def serialize_error(self, err, request_id):
        root = ET.Element("ErrorResponse")
        if self.namespace:
            root.set("xmlns", self.namespace)
        error = ET.SubElement(root, "Error")
        ET.SubElement(error, "Type").text = "Sender" if err.sender else "Receiver"
        ET.SubElement(error, "Code").text = err.code
        ET.SubElement(error, "Message").text = err.message
        ET.SubElement(root, "RequestId").text = request_id
        body = b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8")
        headers = [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")]
        headers.extend(err.headers.items())
        return err.status, headers, body
