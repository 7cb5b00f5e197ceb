/*
 * xml: the small part of libxml2 that AWS clients need, used safely.
 *
 * Reading: xml_parse() parses a document held in memory, bounded in size, with no network
 * access (XML_PARSE_NONET), no entity substitution (no XML_PARSE_NOENT), no DTD loading, and
 * it refuses any document carrying a DOCTYPE (AWS never sends one; refusing it closes the door
 * on entity expansion attacks). libxml2's own error printing is silenced; failures come back as
 * cfdr_err messages. Elements are found by LOCAL name, so callers need not care whether a
 * response uses a default namespace (CloudFront's http://cloudfront.amazonaws.com/doc/2020-05-31/,
 * CloudWatch's, ...).
 *
 * Writing: struct xml_writer builds a document (XML declaration, one root element, optionally
 * with a default namespace) on xmlTextWriter and hands it out as a struct buf. Text is escaped;
 * element names are checked; text that XML 1.0 cannot carry (control characters, invalid UTF-8)
 * is refused rather than sent. The first failure sticks: later calls do nothing and return it,
 * and xml_writer_finish() reports it with a message.
 *
 * Ownership: struct xml_doc is created by xml_parse and released by xml_doc_free (NULL
 * accepted); struct xml_node pointers point into the document and are valid until it is freed.
 * struct xml_writer is created by xml_writer_new and released by xml_writer_free (NULL
 * accepted). Text getters append to a caller-owned struct buf or copy into a caller array.
 */
#ifndef CFDR_XML_H
#define CFDR_XML_H

#include <stddef.h>

#include "aws/buf.h"
#include "aws/err.h"

struct xml_doc;
struct xml_node; /* an element of a parsed document */
struct xml_writer;

/* Parses len bytes at data (NUL not required). Documents longer than max bytes are refused with
 * CFDR_E_TOOBIG before parsing; malformed ones (or ones with a DOCTYPE) give CFDR_E_PARSE with
 * libxml2's line and message. */
cfdr_code xml_parse(const char *data, size_t len, size_t max, struct xml_doc **out, cfdr_err *err);
void xml_doc_free(struct xml_doc *d);

/* The root element (never NULL for a parsed document). */
const struct xml_node *xml_root(const struct xml_doc *d);
/* Local name ("Distribution", without prefix) and namespace URI (NULL when none). */
const char *xml_name(const struct xml_node *n);
const char *xml_ns(const struct xml_node *n);
/* First child element of n whose local name is `name` (any element when name is NULL); NULL when
 * there is none or n is NULL. */
const struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* Next sibling element after n with that local name (any element when name is NULL). */
const struct xml_node *xml_next(const struct xml_node *n, const char *name);
/* Follows a '/'-separated path of local names through first matches: xml_path(root,
 * "DistributionConfig/Origins/Quantity"). "" returns n. NULL when a step is missing. */
const struct xml_node *xml_path(const struct xml_node *n, const char *path);
/* Number of child elements of n named `name` (any when NULL). */
size_t xml_count(const struct xml_node *n, const char *name);

/* Appends the text of element n (its text and CDATA children, concatenated; child elements and
 * entity references are not descended into) to out. NULL n appends nothing and returns
 * CFDR_E_NOTFOUND. CFDR_E_TOOBIG when out's limit would be exceeded. */
cfdr_code xml_text(const struct xml_node *n, struct buf *out);
/* Copies the text of n into dst (size dstsize >= 1), cutting it to fit at a UTF-8 character
 * boundary; "" when n is NULL. Returns 1 when the whole text fitted, 0 when it was cut or n is
 * NULL. */
int xml_text_copy(const struct xml_node *n, char *dst, size_t dstsize);

/* Starts a document whose root element is `root`, with default namespace `ns` (NULL: none). */
cfdr_code xml_writer_new(const char *root, const char *ns, struct xml_writer **out, cfdr_err *err);
void xml_writer_free(struct xml_writer *w);
/* Opens a child element of the current element. */
cfdr_code xml_writer_start(struct xml_writer *w, const char *name);
/* Closes the current element (never the root: xml_writer_finish closes it). */
cfdr_code xml_writer_end(struct xml_writer *w);
/* <name>text</name>, text escaped. */
cfdr_code xml_writer_elem(struct xml_writer *w, const char *name, const char *text);
cfdr_code xml_writer_elemf(struct xml_writer *w, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Closes every open element and appends the document to out (bounded by out->max). Returns the
 * first failure of any earlier call, with its message. The writer can only be freed after. */
cfdr_code xml_writer_finish(struct xml_writer *w, struct buf *out, cfdr_err *err);

#endif
