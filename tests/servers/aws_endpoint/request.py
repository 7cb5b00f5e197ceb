"""The request exactly as it was received, plus the few views every layer needs.

Nothing here normalizes: the verifier and the parsers see the raw path, the raw query and
every header value in the order it arrived.
"""

import urllib.parse


class RawRequest:
    """method, raw target split into raw path and raw query, headers, body bytes."""

    def __init__(self, method, target, headers, body, peer=None):
        self.method = method
        # An absolute-form target (http://host/path) keeps only its path and query.
        if target.startswith("http://") or target.startswith("https://"):
            parts = urllib.parse.urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, sep, query = target.partition("?")
        self.raw_path = path or "/"
        self.raw_query = query if sep else ""
        # headers: list of (name, value) in arrival order.
        self.header_list = list(headers)
        self.body = body or b""
        self.peer = peer
        self.request_id = None
        # URI labels bound by rest-xml routing.
        self.labels = {}
        # Members a lenient protocol (json, query) ignored, for the request log.
        self.ignored_members = []
        # Decoded form parameters of a query-protocol request.
        self.form = None

    def header(self, name, default=None):
        """The first value of a header (case-insensitive), or default."""
        lname = name.lower()
        for k, v in self.header_list:
            if k.lower() == lname:
                return v
        return default

    def header_values(self, name):
        lname = name.lower()
        return [v for k, v in self.header_list if k.lower() == lname]

    def has_header(self, name):
        return self.header(name) is not None

    @property
    def path(self):
        """The path, percent-decoded."""
        return urllib.parse.unquote(self.raw_path)

    def query_pairs(self):
        """Decoded (key, value) pairs of the raw query, in order; '+' stays a plus sign.

        AWS decodes only percent escapes in the query of a SigV4 request, so a literal
        '+' is a plus sign, not a space.
        """
        return decode_pairs(self.raw_query, plus_is_space=False)


def decode_pairs(text, plus_is_space):
    pairs = []
    if not text:
        return pairs
    for part in text.split("&"):
        if part == "":
            continue
        key, _, value = part.partition("=")
        if plus_is_space:
            key = key.replace("+", " ")
            value = value.replace("+", " ")
        pairs.append((urllib.parse.unquote(key), urllib.parse.unquote(value)))
    return pairs
