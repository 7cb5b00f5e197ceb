/*
 * sigv4/uri: the URI pieces of a SigV4 canonical request (percent encoding and decoding, the
 * canonical path, the canonical query string).
 *
 * Encoding is AWS's: the unreserved characters A-Z a-z 0-9 '-' '_' '.' '~' stay as they are,
 * every other byte becomes %XX with uppercase hex. Decoding turns %XX into its byte and nothing
 * else ('+' stays a literal plus, as RFC 3986 and aws-c-common read it).
 *
 * Path normalisation is the AWS SDKs' (botocore's remove_dot_segments and aws-c-auth's
 * s_append_normalized_path agree on it): split the path on '/', drop empty and "." segments, let
 * ".." drop the segment before it, join with single slashes after a leading '/', and keep a
 * trailing '/' when the raw path had one and something is left. It equals RFC 3986 section 5.2.4
 * plus the collapse of repeated slashes that the test suite's normalize-path cases require, except
 * that a path ending in a "." or ".." segment gets no trailing slash ("/a/b/.." is "/a", RFC 3986
 * says "/a/"), which is what the SDKs sign.
 *
 * Ownership: every function appends to a caller-owned struct buf and allocates nothing else that
 * outlives the call. Inputs are borrowed.
 */
#ifndef CFDR_SIGV4_URI_H
#define CFDR_SIGV4_URI_H

#include <stddef.h>

#include "aws/buf.h"
#include "aws/err.h"

/* Nonzero for the characters that URI encoding leaves as they are. */
int sigv4_uri_is_unreserved(unsigned char c);

/* Appends the encoding of data[0..len). With keep_slash, '/' is appended as it is. Returns
 * CFDR_E_TOOBIG when out would exceed its limit (err names the limit). */
cfdr_code sigv4_uri_encode(struct buf *out, const void *data, size_t len, int keep_slash,
                           cfdr_err *err);

/* Appends the decoding of s[0..len). A '%' not followed by two hex digits is CFDR_E_USAGE. */
cfdr_code sigv4_uri_decode(struct buf *out, const char *s, size_t len, cfdr_err *err);

/* Appends the normalised form of path[0..len) (see the top comment); "" becomes "/". */
cfdr_code sigv4_uri_normalize_path(struct buf *out, const char *path, size_t len, cfdr_err *err);

/* Appends the canonical URI of a path as sent on the wire. normalize: normalise it first.
 * double_encode: URI-encode the (already escaped) path once more, '/' kept, so "%20" signs as
 * "%2520"; otherwise the path is used as it is. NULL or "" is "/". */
cfdr_code sigv4_uri_canonical_path(struct buf *out, const char *path, int normalize,
                                   int double_encode, cfdr_err *err);

/* Appends the canonical query string of a raw query (no '?', NULL or "" for none): the query is
 * split on '&' (empty pieces are skipped), each piece on its first '=' into name and value (no
 * '=' means an empty value), both are decoded then encoded, and the pairs are sorted by encoded
 * name then encoded value and joined as "name=value" with '&'. */
cfdr_code sigv4_uri_canonical_query(struct buf *out, const char *query, cfdr_err *err);

#endif
