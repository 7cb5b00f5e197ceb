/* xml: see xml.h. */
#include "aws/xml.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlstring.h>
#include <libxml/xmlwriter.h>

/* struct xml_node is never defined: a pointer to it is a pointer to a libxml2 element. */
#define NODE(n) ((const xmlNode *)(const void *)(n))
#define XNODE(n) ((const struct xml_node *)(const void *)(n))

struct xml_doc {
    xmlDoc *doc;
};

struct xml_writer {
    xmlBuffer *xbuf;
    xmlTextWriter *w;
    int depth; /* open elements, the root included */
    cfdr_code rc;
    char msg[256];
};

/* ---- reading ---- */

/* SAX hook for <!DOCTYPE ...>: stop before any declaration in it is processed. */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                           const xmlChar *system_id)
{
    xmlParserCtxt *ctxt = ctx;
    (void)name;
    (void)external_id;
    (void)system_id;
    if (ctxt->_private)
        *(int *)ctxt->_private = 1;
    xmlStopParser(ctxt);
}

cfdr_code xml_parse(const char *data, size_t len, size_t max, struct xml_doc **out, cfdr_err *err)
{
    xmlParserCtxt *ctxt = NULL;
    xmlDoc *doc = NULL;
    struct xml_doc *d = NULL;
    int saw_doctype = 0;
    cfdr_code rc;

    *out = NULL;
    if (len > max || len > INT_MAX)
        return err_set(err, CFDR_E_TOOBIG, "XML document of %zu bytes exceeds the %zu-byte limit",
                       len, max);
    if (len == 0)
        return err_set(err, CFDR_E_PARSE, "XML document is empty");
    ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return err_set(err, CFDR_E_NOMEM, "out of memory creating an XML parser");
    ctxt->sax->internalSubset = refuse_doctype;
    ctxt->_private = &saw_doctype;
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (saw_doctype || (doc && (doc->intSubset || doc->extSubset))) {
        rc = err_set(err, CFDR_E_PARSE, "XML document has a DOCTYPE, which is not accepted");
        goto out;
    }
    if (!doc || !ctxt->wellFormed || !xmlDocGetRootElement(doc)) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char m[256];
        size_t n;
        snprintf(m, sizeof(m), "%s", e && e->message ? e->message : "not well-formed");
        n = strlen(m);
        while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
            m[--n] = '\0';
        rc = err_set(err, CFDR_E_PARSE, "malformed XML (line %d): %s", e ? e->line : 0, m);
        goto out;
    }
    d = malloc(sizeof(*d));
    if (!d) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory");
        goto out;
    }
    d->doc = doc;
    doc = NULL;
    *out = d;
    rc = CFDR_OK;
out:
    if (doc)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

void xml_doc_free(struct xml_doc *d)
{
    if (!d)
        return;
    xmlFreeDoc(d->doc);
    free(d);
}

const struct xml_node *xml_root(const struct xml_doc *d)
{
    return d ? XNODE(xmlDocGetRootElement(d->doc)) : NULL;
}

const char *xml_name(const struct xml_node *n)
{
    return n ? (const char *)NODE(n)->name : NULL;
}

const char *xml_ns(const struct xml_node *n)
{
    return n && NODE(n)->ns ? (const char *)NODE(n)->ns->href : NULL;
}

static const xmlNode *element_from(const xmlNode *c, const char *name)
{
    for (; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && (!name || strcmp((const char *)c->name, name) == 0))
            return c;
    return NULL;
}

const struct xml_node *xml_child(const struct xml_node *n, const char *name)
{
    return n ? XNODE(element_from(NODE(n)->children, name)) : NULL;
}

const struct xml_node *xml_next(const struct xml_node *n, const char *name)
{
    return n ? XNODE(element_from(NODE(n)->next, name)) : NULL;
}

const struct xml_node *xml_path(const struct xml_node *n, const char *path)
{
    char step[256];

    while (n && *path) {
        const char *slash = strchr(path, '/');
        size_t len = slash ? (size_t)(slash - path) : strlen(path);
        if (len == 0 || len >= sizeof(step))
            return NULL;
        memcpy(step, path, len);
        step[len] = '\0';
        n = xml_child(n, step);
        path += len + (slash ? 1 : 0);
    }
    return n;
}

size_t xml_count(const struct xml_node *n, const char *name)
{
    size_t k = 0;
    for (const struct xml_node *c = xml_child(n, name); c; c = xml_next(c, name))
        k++;
    return k;
}

cfdr_code xml_text(const struct xml_node *n, struct buf *out)
{
    if (!n)
        return CFDR_E_NOTFOUND;
    for (const xmlNode *c = NODE(n)->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            CFDR_TRY(buf_adds(out, (const char *)c->content));
    }
    return CFDR_OK;
}

int xml_text_copy(const struct xml_node *n, char *dst, size_t dstsize)
{
    size_t used = 0;
    int whole = n != NULL;

    dst[0] = '\0';
    if (!n)
        return 0;
    for (const xmlNode *c = NODE(n)->children; c; c = c->next) {
        const char *s;
        size_t len;
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
            continue;
        s = (const char *)c->content;
        len = strlen(s);
        if (used + len >= dstsize) {
            len = dstsize - 1 - used;
            /* do not cut a UTF-8 sequence: back off continuation bytes */
            while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
                len--;
            whole = 0;
        }
        memcpy(dst + used, s, len);
        used += len;
        dst[used] = '\0';
        if (!whole)
            break;
    }
    return whole;
}

/* ---- writing ---- */

static cfdr_code writer_fail(struct xml_writer *w, cfdr_code rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cfdr_code writer_fail(struct xml_writer *w, cfdr_code rc, const char *fmt, ...)
{
    va_list ap;
    if (w->rc)
        return w->rc;
    w->rc = rc;
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
    va_end(ap);
    return rc;
}

static int name_ok(const char *name)
{
    if (!name ||
        !((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
        return 0;
    for (const char *p = name + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return strlen(name) < 200;
}

/* XML 1.0 cannot carry C0 controls other than tab, LF and CR, nor malformed UTF-8. */
static int text_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return 0;
    return xmlCheckUTF8((const xmlChar *)s) == 1;
}

cfdr_code xml_writer_new(const char *root, const char *ns, struct xml_writer **out, cfdr_err *err)
{
    struct xml_writer *w;

    *out = NULL;
    if (!name_ok(root))
        return err_set(err, CFDR_E_INTERNAL, "XML root element name \"%.64s\" is not valid",
                       root ? root : "");
    w = calloc(1, sizeof(*w));
    if (!w)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    w->xbuf = xmlBufferCreate();
    if (w->xbuf)
        w->w = xmlNewTextWriterMemory(w->xbuf, 0);
    if (!w->w) {
        xml_writer_free(w);
        return err_set(err, CFDR_E_NOMEM, "out of memory creating an XML writer");
    }
    if (xmlTextWriterStartDocument(w->w, NULL, "UTF-8", NULL) < 0 ||
        xmlTextWriterStartElement(w->w, (const xmlChar *)root) < 0 ||
        (ns &&
         xmlTextWriterWriteAttribute(w->w, (const xmlChar *)"xmlns", (const xmlChar *)ns) < 0)) {
        xml_writer_free(w);
        return err_set(err, CFDR_E_INTERNAL, "could not start XML document <%s>", root);
    }
    w->depth = 1;
    *out = w;
    return CFDR_OK;
}

void xml_writer_free(struct xml_writer *w)
{
    if (!w)
        return;
    if (w->w)
        xmlFreeTextWriter(w->w);
    if (w->xbuf)
        xmlBufferFree(w->xbuf);
    free(w);
}

cfdr_code xml_writer_start(struct xml_writer *w, const char *name)
{
    if (w->rc)
        return w->rc;
    if (w->depth == 0)
        return writer_fail(w, CFDR_E_INTERNAL, "XML element <%.64s> after the document ended",
                           name ? name : "");
    if (!name_ok(name))
        return writer_fail(w, CFDR_E_INTERNAL, "XML element name \"%.64s\" is not valid",
                           name ? name : "");
    if (xmlTextWriterStartElement(w->w, (const xmlChar *)name) < 0)
        return writer_fail(w, CFDR_E_NOMEM, "could not write XML element <%s>", name);
    w->depth++;
    return CFDR_OK;
}

cfdr_code xml_writer_end(struct xml_writer *w)
{
    if (w->rc)
        return w->rc;
    if (w->depth <= 1)
        return writer_fail(w, CFDR_E_INTERNAL, "xml_writer_end without an open child element");
    if (xmlTextWriterEndElement(w->w) < 0)
        return writer_fail(w, CFDR_E_NOMEM, "could not close an XML element");
    w->depth--;
    return CFDR_OK;
}

cfdr_code xml_writer_elem(struct xml_writer *w, const char *name, const char *text)
{
    if (w->rc)
        return w->rc;
    if (!text)
        text = "";
    if (!text_ok(text))
        return writer_fail(w, CFDR_E_CONFIG,
                           "the value for XML element <%.64s> holds a control character or "
                           "invalid UTF-8, which XML cannot carry",
                           name ? name : "");
    CFDR_TRY(xml_writer_start(w, name));
    if (xmlTextWriterWriteString(w->w, (const xmlChar *)text) < 0)
        return writer_fail(w, CFDR_E_NOMEM, "could not write the text of <%s>", name);
    return xml_writer_end(w);
}

cfdr_code xml_writer_elemf(struct xml_writer *w, const char *name, const char *fmt, ...)
{
    struct buf b;
    va_list ap;
    cfdr_code rc;

    if (w->rc)
        return w->rc;
    buf_init(&b, BUF_MAX_DOC);
    va_start(ap, fmt);
    rc = buf_vaddf(&b, fmt, ap);
    va_end(ap);
    if (rc)
        rc = writer_fail(w, rc, "could not format the text of <%.64s>", name ? name : "");
    else
        rc = xml_writer_elem(w, name, buf_str(&b));
    buf_free(&b);
    return rc;
}

cfdr_code xml_writer_finish(struct xml_writer *w, struct buf *out, cfdr_err *err)
{
    cfdr_code rc;

    if (w->rc)
        return err_set(err, w->rc, "building XML: %s", w->msg);
    if (w->depth == 0)
        return err_set(err, CFDR_E_INTERNAL, "building XML: document already finished");
    if (xmlTextWriterEndDocument(w->w) < 0 || xmlTextWriterFlush(w->w) < 0) {
        writer_fail(w, CFDR_E_NOMEM, "could not end the XML document");
        return err_set(err, w->rc, "building XML: %s", w->msg);
    }
    w->depth = 0;
    rc = buf_add(out, xmlBufferContent(w->xbuf), (size_t)xmlBufferLength(w->xbuf));
    if (rc)
        return err_set(err, rc, "building XML: the document (%d bytes) does not fit in %zu bytes",
                       xmlBufferLength(w->xbuf), out->max);
    return CFDR_OK;
}
