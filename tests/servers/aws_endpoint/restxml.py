"""The rest-xml protocol (CloudFront): routing, request parsing, response serialization.

Routing matches the HTTP method and the model's requestUri template ("/2020-05-31/
distribution/{Id}/config", "/2020-05-31/distribution?WithTags"): the path part binds
labels, the query part names literals that must be present. Among several matches the
one with more query literals wins (CreateDistributionWithTags over CreateDistribution).

The body is read against the payload member's shape: the root element must carry the
member's name and the model's xmlNamespace, every element must be a member of its
structure (unknown elements are rejected), scalars must parse as their type, an
element may not repeat. Element order is free, as it is for CloudFront (botocore
itself writes members in the caller's order).
"""

import re
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from . import shapes
from .errors import ApiError
from .shapes import ShapeError, join


class XmlShapeError(ShapeError):
    """A body that is not the XML the shape describes (CloudFront: MalformedInput)."""


def _local(tag):
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _ns(tag):
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


class Route:
    def __init__(self, op):
        self.op = op
        template = op.http["requestUri"]
        path, _, query = template.partition("?")
        self.labels = []
        regex = "^"
        for piece in re.split(r"(\{[^}]+\})", path):
            if piece.startswith("{") and piece.endswith("}"):
                name = piece[1:-1]
                greedy = name.endswith("+")
                name = name.rstrip("+")
                self.labels.append(name)
                regex += "(.+)" if greedy else "([^/]+)"
            else:
                regex += re.escape(piece)
        self.regex = re.compile(regex + "$")
        self.literals = []
        for part in query.split("&") if query else []:
            key, eq, value = part.partition("=")
            self.literals.append((key, value if eq else None))

    def match(self, method, raw_path, query):
        if method != self.op.http["method"]:
            return None
        m = self.regex.match(raw_path)
        if not m:
            return None
        for key, value in self.literals:
            if key not in query:
                return None
            if value is not None and value not in query[key]:
                return None
        return {name: urllib.parse.unquote(v) for name, v in zip(self.labels, m.groups())}


class RestXmlProtocol:
    name = "rest-xml"

    def __init__(self, model):
        self.model = model
        self.routes = [Route(model.operation_model(n)) for n in model.operation_names]
        self.namespace = None
        for n in model.operation_names:
            op = model.operation_model(n)
            if op.input_shape is not None:
                for member in op.input_shape.members.values():
                    ns = member.serialization.get("xmlNamespace")
                    if ns:
                        self.namespace = ns["uri"]
                        break
            if self.namespace:
                break

    # ---- routing ----------------------------------------------------------------
    def find_operation(self, req):
        query = {}
        for k, v in req.query_pairs():
            query.setdefault(k, []).append(v)
        best = None
        for route in self.routes:
            labels = route.match(req.method, req.raw_path, query)
            if labels is None:
                continue
            if best is None or len(route.literals) > len(best[0].literals):
                best = (route, labels)
        if best is None:
            raise ApiError(
                "InvalidAction",
                "Could not find operation for %s %s" % (req.method, req.raw_path[:200]),
                status=404,
            )
        req.labels = best[1]
        return best[0].op

    # ---- request parsing -------------------------------------------------------
    def parse(self, req, op):
        """Parameters of req for op. Raises ShapeError (XmlShapeError for the body)."""
        shape = op.input_shape
        params = {}
        if shape is None:
            return params
        labels = req.labels
        pairs = req.query_pairs()
        bound_query = set()
        payload = shape.serialization.get("payload")
        body_members = {}
        for name, member in shape.members.items():
            loc = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if loc == "uri":
                if wire in labels:
                    params[name] = labels[wire]
            elif loc == "querystring":
                if member.type_name == "map":
                    continue
                values = [v for k, v in pairs if k == wire]
                bound_query.add(wire)
                if not values:
                    continue
                if member.type_name == "list":
                    params[name] = [self._scalar_text(v, member.member, join(name, "member"), "iso8601") for v in values]
                else:
                    params[name] = self._scalar_text(values[0], member, name, "iso8601")
            elif loc == "header":
                value = req.header(wire)
                if value is None:
                    continue
                if member.type_name == "list":
                    params[name] = [
                        self._scalar_text(v.strip(), member.member, name, "rfc822") for v in value.split(",")
                    ]
                elif member.type_name == "boolean":
                    # botocore 1.29 writes header booleans as Python's True/False.
                    params[name] = shapes.parse_bool(value.strip().lower(), name)
                else:
                    params[name] = self._scalar_text(value.strip(), member, name, "rfc822")
            elif loc == "headers":
                prefix = wire.lower()
                found = {
                    k[len(prefix):]: v for k, v in req.header_list if k.lower().startswith(prefix)
                }
                if found:
                    params[name] = found
            elif loc == "statusCode":
                continue
            else:
                body_members[name] = member
        for name, member in shape.members.items():
            if member.serialization.get("location") == "querystring" and member.type_name == "map":
                rest = {k: v for k, v in pairs if k not in bound_query}
                if rest:
                    params[name] = rest
        if payload:
            member = shape.members[payload]
            if member.type_name in ("blob", "string"):
                if req.body:
                    params[payload] = req.body if member.type_name == "blob" else req.body.decode("utf-8")
            elif req.body.strip():
                root_name = member.serialization.get("name", payload)
                ns = member.serialization.get("xmlNamespace", {}).get("uri") or self.namespace
                params[payload] = self.parse_xml(req.body, member, root_name, ns, payload)
        elif body_members and req.body.strip():
            root_name = shape.serialization.get("name", shape.name)
            ns = shape.serialization.get("xmlNamespace", {}).get("uri") or self.namespace
            sub = self.parse_xml(req.body, shape, root_name, ns, "", only=body_members)
            params.update(sub)
        return params

    def _scalar_text(self, text, shape, path, ts_default):
        t = shape.type_name
        if t == "string":
            return text
        if t in ("integer", "long"):
            return shapes.parse_int(text, shape, path)
        if t in ("float", "double"):
            return shapes.parse_float(text, path)
        if t == "boolean":
            return shapes.parse_bool(text, path)
        if t == "timestamp":
            return shapes.parse_timestamp_text(text, shapes.timestamp_format(shape, ts_default), path)
        if t == "blob":
            return shapes.parse_blob(text, path)
        raise ShapeError(path, "unsupported type %s" % t)

    def parse_xml(self, body, shape, root_name, namespace, path, only=None):
        if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
            raise XmlShapeError(path, "document type declarations are not allowed")
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            raise XmlShapeError(path, "the XML is not well formed (%s)" % e) from None
        if _local(root.tag) != root_name:
            raise XmlShapeError(
                path, "unexpected root element <%s>, expected <%s>" % (_local(root.tag), root_name)
            )
        if namespace and _ns(root.tag) != namespace:
            raise XmlShapeError(
                path,
                "root element <%s> must be in namespace %s, not '%s'" % (root_name, namespace, _ns(root.tag)),
            )
        return self._xml_value(root, shape, path, _ns(root.tag), only=only)

    def _xml_value(self, elem, shape, path, ns, only=None):
        if _ns(elem.tag) != ns:
            raise XmlShapeError(path, "element <%s> is in the wrong namespace" % _local(elem.tag))
        t = shape.type_name
        if t == "structure":
            return self._xml_structure(elem, shape, path, ns, only)
        if t == "list":
            return self._xml_list(elem, shape, path, ns)
        if t == "map":
            return self._xml_map(elem, shape, path, ns)
        if len(elem):
            raise XmlShapeError(path, "element <%s> must not have child elements" % _local(elem.tag))
        text = elem.text or ""
        if t == "string":
            return text
        if text.strip() == "":
            raise XmlShapeError(path, "element <%s> must not be empty" % _local(elem.tag))
        try:
            return self._scalar_text(text, shape, path, "iso8601")
        except ShapeError as e:
            raise XmlShapeError(e.path, e.reason) from None

    def _xml_structure(self, elem, shape, path, ns, only):
        members = only if only is not None else shape.members
        by_wire = {}
        for name, member in members.items():
            if member.serialization.get("xmlAttribute"):
                continue
            by_wire[member.serialization.get("name", name)] = (name, member)
        if (elem.text or "").strip():
            raise XmlShapeError(path, "unexpected text in <%s>" % _local(elem.tag))
        out = {}
        for child in elem:
            if (child.tail or "").strip():
                raise XmlShapeError(path, "unexpected text in <%s>" % _local(elem.tag))
            local = _local(child.tag)
            if local not in by_wire:
                raise XmlShapeError(
                    join(path, local), "unexpected element <%s> in <%s>" % (local, _local(elem.tag))
                )
            name, member = by_wire[local]
            if member.type_name == "list" and member.serialization.get("flattened"):
                out.setdefault(name, []).append(self._xml_value(child, member.member, join(path, name), ns))
                continue
            if name in out:
                raise XmlShapeError(join(path, name), "element <%s> appears more than once" % local)
            out[name] = self._xml_value(child, member, join(path, name), ns)
        for name, member in members.items():
            if member.serialization.get("xmlAttribute"):
                value = elem.get(member.serialization["name"])
                if value is not None:
                    out[name] = value
        return out

    def _xml_list(self, elem, shape, path, ns):
        item_name = shape.member.serialization.get("name", "member")
        if (elem.text or "").strip():
            raise XmlShapeError(path, "unexpected text in <%s>" % _local(elem.tag))
        out = []
        for i, child in enumerate(elem):
            if _local(child.tag) != item_name:
                raise XmlShapeError(
                    path, "unexpected element <%s> in list <%s>, expected <%s>" % (_local(child.tag), _local(elem.tag), item_name)
                )
            out.append(self._xml_value(child, shape.member, "%s[%d]" % (path, i), ns))
        return out

    def _xml_map(self, elem, shape, path, ns):
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        for entry in elem:
            if _local(entry.tag) != "entry":
                raise XmlShapeError(path, "unexpected element <%s> in map" % _local(entry.tag))
            key = value = None
            for part in entry:
                if _local(part.tag) == key_name:
                    key = self._xml_value(part, shape.key, path, ns)
                elif _local(part.tag) == value_name:
                    value = self._xml_value(part, shape.value, join(path, str(key)), ns)
                else:
                    raise XmlShapeError(path, "unexpected element <%s> in map entry" % _local(part.tag))
            if key is None:
                raise XmlShapeError(path, "map entry without <%s>" % key_name)
            out[key] = value
        return out

    # ---- responses -------------------------------------------------------------
    def serialize(self, op, result, request_id):
        """(status, headers, body) for a successful result dict shaped like the output."""
        status = op.http.get("responseCode", 200)
        headers = [("x-amzn-RequestId", request_id)]
        shape = op.output_shape
        body = b""
        if shape is not None:
            payload = shape.serialization.get("payload")
            for name, member in shape.members.items():
                if name not in result or result[name] is None:
                    continue
                loc = member.serialization.get("location")
                wire = member.serialization.get("name", name)
                if loc == "header":
                    value = result[name]
                    if member.type_name == "timestamp":
                        value = shapes.format_timestamp(value, shapes.timestamp_format(member, "rfc822"))
                    else:
                        value = shapes.format_scalar(value, member)
                    headers.append((wire, value))
                elif loc == "headers":
                    for k, v in result[name].items():
                        headers.append((wire + k, v))
                elif loc == "statusCode":
                    status = result[name]
            if payload and payload in result:
                member = shape.members[payload]
                if member.type_name in ("blob", "string"):
                    body = result[payload] if isinstance(result[payload], bytes) else result[payload].encode()
                else:
                    root_name = member.serialization.get("name", member.name)
                    body = self.to_xml(root_name, result[payload], member)
            elif not payload:
                body_members = {
                    n: m for n, m in shape.members.items() if not m.serialization.get("location") and n in result
                }
                if body_members:
                    root_name = shape.serialization.get("name", shape.name)
                    body = self.to_xml(root_name, {n: result[n] for n in body_members}, shape)
        if body:
            headers.append(("Content-Type", "text/xml"))
        return status, headers, body

    def to_xml(self, root_name, value, shape):
        root = ET.Element(root_name)
        if self.namespace:
            root.set("xmlns", self.namespace)
        self._fill(root, value, shape)
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")

    def _fill(self, node, value, shape):
        t = shape.type_name
        if t == "structure":
            for name, member in shape.members.items():
                if name not in value or value[name] is None:
                    continue
                wire = member.serialization.get("name", name)
                if member.serialization.get("xmlAttribute"):
                    node.set(wire, shapes.format_scalar(value[name], member))
                    continue
                if member.type_name == "list" and member.serialization.get("flattened"):
                    for item in value[name]:
                        self._fill(ET.SubElement(node, wire), item, member.member)
                    continue
                self._fill(ET.SubElement(node, wire), value[name], member)
        elif t == "list":
            item_name = shape.member.serialization.get("name", "member")
            for item in value:
                self._fill(ET.SubElement(node, item_name), item, shape.member)
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


def new_request_id():
    return str(uuid.uuid4())
