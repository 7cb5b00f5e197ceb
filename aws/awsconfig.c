/* awsconfig: see awsconfig.h. */
#include "awsconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/buf.h"

/* What Python's str.strip() and the regex \s remove, limited to ASCII. */
static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
           (c >= 0x1c && c <= 0x1f);
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int key_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* Trims [*s, *e) in place. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space((unsigned char)**s))
        (*s)++;
    while (*e > *s && is_space((unsigned char)(*e)[-1]))
        (*e)--;
}

static char *dup_range(const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static cfdr_code nomem(cfdr_err *err)
{
    return err_set(err, CFDR_E_NOMEM, "out of memory reading AWS configuration");
}

/* ---- properties and sections ---- */

/* Values may be secrets (aws_secret_access_key): wiped before they are freed. */
static void free_value(char *v)
{
    if (v) {
        explicit_bzero(v, strlen(v));
        free(v);
    }
}

static void prop_clear(struct awsconfig_prop *p)
{
    free(p->key);
    free_value(p->value);
    for (size_t i = 0; i < p->nsub; i++) {
        free(p->sub[i].key);
        free_value(p->sub[i].value);
    }
    free(p->sub);
    memset(p, 0, sizeof(*p));
}

static void section_clear(struct awsconfig_section *s)
{
    for (size_t i = 0; i < s->nprops; i++)
        prop_clear(&s->props[i]);
    free(s->props);
    free(s->name);
    memset(s, 0, sizeof(*s));
}

void awsconfig_file_free(struct awsconfig_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nsections; i++)
        section_clear(&f->sections[i]);
    free(f->sections);
    free(f->path);
    free(f);
}

static struct awsconfig_prop *find_prop(struct awsconfig_section *s, const char *key)
{
    for (size_t i = 0; i < s->nprops; i++)
        if (key_equal(s->props[i].key, key))
            return &s->props[i];
    return NULL;
}

/* Returns the slot for key in s: the existing one emptied (a later key overrides), or a new
 * one. The slot's key is set; everything else is zero. */
static cfdr_code section_slot(struct awsconfig_section *s, const char *key, size_t keylen,
                              size_t *idx)
{
    char *k = dup_range(key, key + keylen);
    if (!k)
        return CFDR_E_NOMEM;
    for (char *q = k; *q; q++)
        *q = (char)ascii_lower((unsigned char)*q);
    struct awsconfig_prop *old = find_prop(s, k);
    if (old) {
        prop_clear(old);
        old->key = k;
        *idx = (size_t)(old - s->props);
        return CFDR_OK;
    }
    if (s->nprops == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct awsconfig_prop *np = realloc(s->props, cap * sizeof(*np));
        if (!np) {
            free(k);
            return CFDR_E_NOMEM;
        }
        s->props = np;
        s->cap = cap;
    }
    memset(&s->props[s->nprops], 0, sizeof(s->props[0]));
    s->props[s->nprops].key = k;
    *idx = s->nprops++;
    return CFDR_OK;
}

static cfdr_code file_add_section(struct awsconfig_file *f, const char *name, size_t len, int line,
                                  size_t *idx)
{
    for (size_t i = 0; i < f->nsections; i++) {
        if (strlen(f->sections[i].name) == len && memcmp(f->sections[i].name, name, len) == 0) {
            /* botocore rejects a repeated section; we merge it into the first. */
            *idx = i;
            return CFDR_OK;
        }
    }
    if (f->nsections == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct awsconfig_section *ns = realloc(f->sections, cap * sizeof(*ns));
        if (!ns)
            return CFDR_E_NOMEM;
        f->sections = ns;
        f->cap = cap;
    }
    struct awsconfig_section *s = &f->sections[f->nsections];
    memset(s, 0, sizeof(*s));
    s->name = dup_range(name, name + len);
    if (!s->name)
        return CFDR_E_NOMEM;
    s->line = line;
    *idx = f->nsections++;
    return CFDR_OK;
}

static cfdr_code prop_copy(struct awsconfig_prop *dst, const struct awsconfig_prop *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->line = src->line;
    dst->key = strdup(src->key);
    dst->value = strdup(src->value ? src->value : "");
    if (!dst->key || !dst->value)
        goto fail;
    if (src->nsub) {
        dst->sub = calloc(src->nsub, sizeof(*dst->sub));
        if (!dst->sub)
            goto fail;
        dst->nsub = src->nsub;
        for (size_t i = 0; i < src->nsub; i++) {
            dst->sub[i].line = src->sub[i].line;
            dst->sub[i].key = strdup(src->sub[i].key);
            dst->sub[i].value = strdup(src->sub[i].value);
            if (!dst->sub[i].key || !dst->sub[i].value)
                goto fail;
        }
    }
    return CFDR_OK;
fail:
    prop_clear(dst);
    return CFDR_E_NOMEM;
}

/* configparser's [DEFAULT]: its keys appear in every section that lacks them. */
static cfdr_code apply_defaults(struct awsconfig_file *f, const struct awsconfig_section *defs)
{
    for (size_t i = 0; i < f->nsections; i++) {
        struct awsconfig_section *s = &f->sections[i];
        for (size_t j = 0; j < defs->nprops; j++) {
            size_t idx;
            if (find_prop(s, defs->props[j].key))
                continue;
            CFDR_TRY(section_slot(s, defs->props[j].key, strlen(defs->props[j].key), &idx));
            free(s->props[idx].key);
            s->props[idx].key = NULL;
            CFDR_TRY(prop_copy(&s->props[idx], &defs->props[j]));
        }
    }
    return CFDR_OK;
}

/* ---- the parser ---- */

struct parser {
    const char *name;
    struct awsconfig_file *f;
    struct awsconfig_section defaults; /* [DEFAULT] */
    int in_section;                    /* 0 before the first header */
    int in_defaults;                   /* the current section is [DEFAULT] */
    size_t sect;                       /* index of the current section in f->sections */
    int have_prop;                     /* a key line is open for continuation lines */
    size_t prop;                       /* its index in the current section */
    int nested;                        /* its key line had an empty value */
    size_t indent;                     /* indentation of the last key or header line */
    struct buf val;                    /* its value so far (plain values) */
};

static struct awsconfig_section *cur_section(struct parser *ps)
{
    return ps->in_defaults ? &ps->defaults : &ps->f->sections[ps->sect];
}

static cfdr_code syntax(struct parser *ps, cfdr_err *err, int line, const char *what)
{
    return err_set(err, CFDR_E_CONFIG, "%s line %d: %s", ps->name, line, what);
}

/* Closes the open key line: stores the joined value. */
static cfdr_code finish_prop(struct parser *ps)
{
    if (!ps->have_prop)
        return CFDR_OK;
    struct awsconfig_prop *p = &cur_section(ps)->props[ps->prop];
    const char *s = buf_str(&ps->val), *e = s + buf_len(&ps->val);
    /* configparser joins the lines with '\n' and rstrips the result. */
    while (e > s && is_space((unsigned char)e[-1]))
        e--;
    free_value(p->value);
    p->value = dup_range(s, e);
    ps->have_prop = 0;
    buf_reset(&ps->val);
    return p->value ? CFDR_OK : CFDR_E_NOMEM;
}

static cfdr_code add_nested(struct parser *ps, const char *s, const char *e, int line,
                            cfdr_err *err)
{
    struct awsconfig_prop *p = &cur_section(ps)->props[ps->prop];
    const char *eq = memchr(s, '=', (size_t)(e - s));
    if (!eq)
        return syntax(ps, err, line,
                      "expected 'key = value' in the indented block (a nested section such as "
                      "'s3 =' holds only 'key = value' lines)");
    const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
    trim(&ks, &ke);
    trim(&vs, &ve);
    char *k = dup_range(ks, ke), *v = dup_range(vs, ve);
    if (!k || !v) {
        free(k);
        free(v);
        return nomem(err);
    }
    for (size_t i = 0; i < p->nsub; i++) {
        if (strcmp(p->sub[i].key, k) == 0) {
            free_value(p->sub[i].value);
            free(k);
            p->sub[i].value = v;
            p->sub[i].line = line;
            return CFDR_OK;
        }
    }
    struct awsconfig_prop *ns = realloc(p->sub, (p->nsub + 1) * sizeof(*ns));
    if (!ns) {
        free(k);
        free(v);
        return nomem(err);
    }
    p->sub = ns;
    memset(&p->sub[p->nsub], 0, sizeof(p->sub[0]));
    p->sub[p->nsub].key = k;
    p->sub[p->nsub].value = v;
    p->sub[p->nsub].line = line;
    p->nsub++;
    return CFDR_OK;
}

/* One physical line [ls, le) without its line ending. */
static cfdr_code parse_line(struct parser *ps, const char *ls, const char *le, int line,
                            cfdr_err *err)
{
    const char *s = ls, *e = le;
    trim(&s, &e);
    int comment = s < e && (*s == '#' || *s == ';');

    if (s == e || comment) {
        /* An empty line (not a comment) is part of a multi-line value. */
        if (!comment && ps->have_prop && !ps->nested)
            if (buf_addc(&ps->val, '\n'))
                return nomem(err);
        return CFDR_OK;
    }

    size_t indent = (size_t)(s - ls);
    if (ps->have_prop && indent > ps->indent) {
        if (ps->nested)
            return add_nested(ps, s, e, line, err);
        if (buf_addc(&ps->val, '\n') || buf_add(&ps->val, s, (size_t)(e - s)))
            return err_set(err, CFDR_E_TOOBIG, "%s line %d: value too long", ps->name, line);
        return CFDR_OK;
    }

    if (finish_prop(ps))
        return nomem(err);
    ps->indent = indent;

    /* Section header: '[' .+ ']' matched from the start, the last ']' closing it. */
    if (*s == '[') {
        const char *close = NULL;
        for (const char *q = s + 2; q < e; q++)
            if (*q == ']')
                close = q;
        if (close) {
            const char *name = s + 1;
            size_t len = (size_t)(close - name);
            if (len == 7 && memcmp(name, "DEFAULT", 7) == 0) {
                ps->in_defaults = 1;
                if (!ps->defaults.line)
                    ps->defaults.line = line;
            } else {
                ps->in_defaults = 0;
                if (file_add_section(ps->f, name, len, line, &ps->sect))
                    return nomem(err);
            }
            ps->in_section = 1;
            return CFDR_OK;
        }
    }
    if (!ps->in_section)
        return syntax(ps, err, line,
                      "text before the first [section] header (every setting belongs to a "
                      "section such as [default])");

    const char *d = s;
    while (d < e && *d != '=' && *d != ':')
        d++;
    if (d == e)
        return syntax(ps, err, line, "expected 'key = value' or a [section] header");
    const char *ks = s, *ke = d, *vs = d + 1, *ve = e;
    trim(&ks, &ke);
    trim(&vs, &ve);
    if (ks == ke)
        return syntax(ps, err, line, "a setting has no key before the '=' or ':'");
    struct awsconfig_section *sec = cur_section(ps);
    if (section_slot(sec, ks, (size_t)(ke - ks), &ps->prop))
        return nomem(err);
    sec->props[ps->prop].line = line;
    ps->have_prop = 1;
    ps->nested = (vs == ve);
    buf_reset(&ps->val);
    if (buf_add(&ps->val, vs, (size_t)(ve - vs)))
        return err_set(err, CFDR_E_TOOBIG, "%s line %d: value too long", ps->name, line);
    return CFDR_OK;
}

cfdr_code awsconfig_parse(const char *name, const char *text, size_t len,
                          struct awsconfig_file **out, cfdr_err *err)
{
    struct parser ps;
    cfdr_code rc = CFDR_OK;
    int line = 1;

    *out = NULL;
    memset(&ps, 0, sizeof(ps));
    ps.name = name ? name : "(config)";
    buf_init(&ps.val, AWSCONFIG_MAX_FILE);
    ps.f = calloc(1, sizeof(*ps.f));
    if (!ps.f || !(ps.f->path = strdup(ps.name))) {
        rc = nomem(err);
        goto out;
    }
    ps.f->exists = 1;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        rc = syntax(&ps, err, 1,
                    "the file starts with a UTF-8 byte order mark, which the AWS CLI rejects too; "
                    "save it without one");
        goto out;
    }
    if (memchr(text, '\0', len)) {
        const char *nul = memchr(text, '\0', len);
        for (const char *q = text; q < nul; q++)
            line += (*q == '\n');
        rc = syntax(&ps, err, line, "the file contains a NUL byte; it is not a text file");
        goto out;
    }

    /* Lines end at \n, \r\n or \r, as Python's universal newlines. */
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n' && text[j] != '\r')
            j++;
        rc = parse_line(&ps, text + i, text + j, line, err);
        if (rc)
            goto out;
        if (j < len && text[j] == '\r' && j + 1 < len && text[j + 1] == '\n')
            j++;
        i = j + 1;
        line++;
    }
    if (finish_prop(&ps)) {
        rc = nomem(err);
        goto out;
    }
    if (ps.defaults.nprops && apply_defaults(ps.f, &ps.defaults)) {
        rc = nomem(err);
        goto out;
    }
    *out = ps.f;
    ps.f = NULL;
out:
    section_clear(&ps.defaults);
    if (ps.val.p)
        explicit_bzero(ps.val.p, ps.val.cap);
    buf_free(&ps.val);
    awsconfig_file_free(ps.f);
    return rc;
}

cfdr_code awsconfig_file_load(const char *path, struct awsconfig_file **out, cfdr_err *err)
{
    struct buf text;
    char chunk[8192];
    char *full = NULL;
    int fd = -1;
    cfdr_code rc = CFDR_OK;

    *out = NULL;
    buf_init(&text, AWSCONFIG_MAX_FILE);
    full = awsconfig_expand_path(path ? path : "");
    if (!full) {
        rc = nomem(err);
        goto out;
    }
    if (full[0] != '\0')
        fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (full[0] == '\0' || errno == ENOENT || errno == ENOTDIR) {
            struct awsconfig_file *f = calloc(1, sizeof(*f));
            if (!f) {
                rc = nomem(err);
                goto out;
            }
            f->path = full;
            full = NULL;
            *out = f;
            goto out;
        }
        rc = err_set(err, CFDR_E_IO, "cannot open %s: %s", full, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(err, CFDR_E_IO, "cannot read %s: %s", full, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (buf_add(&text, chunk, (size_t)n)) {
            rc = err_set(err, CFDR_E_TOOBIG,
                         "%s is larger than %u bytes; it cannot be an AWS "
                         "config or credentials file",
                         full, AWSCONFIG_MAX_FILE);
            goto out;
        }
    }
    rc = awsconfig_parse(full, buf_str(&text), buf_len(&text), out, err);
out:
    if (fd >= 0)
        close(fd);
    if (text.p)
        explicit_bzero(text.p, text.cap);
    explicit_bzero(chunk, sizeof(chunk));
    buf_free(&text);
    free(full);
    return rc;
}

/* ---- lookups ---- */

const struct awsconfig_section *awsconfig_file_section(const struct awsconfig_file *f,
                                                       const char *name)
{
    if (!f || !name)
        return NULL;
    for (size_t i = 0; i < f->nsections; i++)
        if (strcmp(f->sections[i].name, name) == 0)
            return &f->sections[i];
    return NULL;
}

const struct awsconfig_prop *awsconfig_section_prop(const struct awsconfig_section *s,
                                                    const char *key)
{
    if (!s || !key)
        return NULL;
    for (size_t i = 0; i < s->nprops; i++)
        if (key_equal(s->props[i].key, key))
            return &s->props[i];
    return NULL;
}

const char *awsconfig_section_get(const struct awsconfig_section *s, const char *key)
{
    const struct awsconfig_prop *p = awsconfig_section_prop(s, key);
    return p ? p->value : NULL;
}

const char *awsconfig_prop_sub(const struct awsconfig_prop *p, const char *key)
{
    if (!p || !key)
        return NULL;
    for (size_t i = 0; i < p->nsub; i++)
        if (strcmp(p->sub[i].key, key) == 0)
            return p->sub[i].value;
    return NULL;
}

/* The profile a config-file section name defines, as botocore's build_profile_map: "default",
 * or a name starting with "profile" that splits into exactly two shell words. Returns 1 and
 * compares the second word with want. */
static int config_section_is_profile(const char *section, const char *want)
{
    if (strcmp(section, "default") == 0)
        return strcmp(want, "default") == 0;
    if (strncmp(section, "profile", 7) != 0)
        return 0;
    char **argv = NULL;
    size_t argc = 0;
    int match = 0;
    if (awsconfig_shlex_split(section, &argv, &argc, NULL) == CFDR_OK && argc == 2)
        match = strcmp(argv[1], want) == 0;
    awsconfig_argv_free(argv);
    return match;
}

const struct awsconfig_section *awsconfig_config_profile(const struct awsconfig_file *config,
                                                         const char *name)
{
    const struct awsconfig_section *found = NULL;
    if (!config || !name)
        return NULL;
    for (size_t i = 0; i < config->nsections; i++)
        if (config_section_is_profile(config->sections[i].name, name))
            found = &config->sections[i];
    return found;
}

const struct awsconfig_section *awsconfig_credentials_profile(const struct awsconfig_file *creds,
                                                              const char *name)
{
    return awsconfig_file_section(creds, name);
}

void awsconfig_free(struct awsconfig *c)
{
    if (!c)
        return;
    awsconfig_file_free(c->config);
    awsconfig_file_free(c->credentials);
    free(c);
}

cfdr_code awsconfig_load(struct awsconfig **out, cfdr_err *err)
{
    const char *cfg = getenv("AWS_CONFIG_FILE");
    const char *cred = getenv("AWS_SHARED_CREDENTIALS_FILE");
    cfdr_code rc;

    *out = NULL;
    struct awsconfig *c = calloc(1, sizeof(*c));
    if (!c)
        return nomem(err);
    rc = awsconfig_file_load(cfg ? cfg : "~/.aws/config", &c->config, err);
    if (rc == CFDR_OK)
        rc = awsconfig_file_load(cred ? cred : "~/.aws/credentials", &c->credentials, err);
    if (rc) {
        awsconfig_free(c);
        return rc;
    }
    *out = c;
    return CFDR_OK;
}

int awsconfig_profile_exists(const struct awsconfig *c, const char *name)
{
    return c && (awsconfig_config_profile(c->config, name) ||
                 awsconfig_credentials_profile(c->credentials, name));
}

const struct awsconfig_prop *awsconfig_profile_prop(const struct awsconfig *c, const char *name,
                                                    const char *key,
                                                    const struct awsconfig_file **from)
{
    const struct awsconfig_prop *p;
    if (from)
        *from = NULL;
    if (!c)
        return NULL;
    p = awsconfig_section_prop(awsconfig_credentials_profile(c->credentials, name), key);
    if (p) {
        if (from)
            *from = c->credentials;
        return p;
    }
    p = awsconfig_section_prop(awsconfig_config_profile(c->config, name), key);
    if (p && from)
        *from = c->config;
    return p;
}

const char *awsconfig_profile_get(const struct awsconfig *c, const char *name, const char *key,
                                  const struct awsconfig_file **from)
{
    const struct awsconfig_prop *p = awsconfig_profile_prop(c, name, key, from);
    return p ? p->value : NULL;
}

/* ---- paths ---- */

static int is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* os.path.expandvars: $name and ${name}; unknown names stay as written. */
static cfdr_code expand_vars(const char *in, struct buf *b)
{
    const char *p = in;
    while (*p) {
        if (*p != '$') {
            CFDR_TRY(buf_addc(b, *p++));
            continue;
        }
        const char *ns, *ne, *end;
        if (p[1] == '{') {
            ns = p + 2;
            ne = strchr(ns, '}');
            if (!ne) {
                CFDR_TRY(buf_addc(b, *p++));
                continue;
            }
            end = ne + 1;
        } else {
            ns = p + 1;
            ne = ns;
            while (is_word_char((unsigned char)*ne))
                ne++;
            end = ne;
            if (ne == ns) {
                CFDR_TRY(buf_addc(b, *p++));
                continue;
            }
        }
        char *name = dup_range(ns, ne);
        if (!name)
            return CFDR_E_NOMEM;
        const char *val = name[0] ? getenv(name) : NULL;
        free(name);
        if (val)
            CFDR_TRY(buf_adds(b, val));
        else
            CFDR_TRY(buf_add(b, p, (size_t)(end - p)));
        p = end;
    }
    return CFDR_OK;
}

/* os.path.expanduser: ~ is $HOME (or the password database), ~user that user's home. */
static cfdr_code expand_user(const char *in, struct buf *b)
{
    char pwbuf[16384];
    struct passwd pw, *res = NULL;
    const char *home = NULL;

    if (in[0] != '~')
        return buf_adds(b, in);
    const char *slash = strchr(in, '/');
    size_t namelen = slash ? (size_t)(slash - in - 1) : strlen(in + 1);
    if (namelen == 0) {
        home = getenv("HOME");
        if (!home && getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
            home = res->pw_dir;
    } else {
        char *name = dup_range(in + 1, in + 1 + namelen);
        if (!name)
            return CFDR_E_NOMEM;
        if (getpwnam_r(name, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
            home = res->pw_dir;
        free(name);
    }
    if (!home)
        return buf_adds(b, in);
    size_t hl = strlen(home);
    while (hl > 0 && home[hl - 1] == '/')
        hl--;
    CFDR_TRY(buf_add(b, home, hl));
    CFDR_TRY(buf_adds(b, in + 1 + namelen));
    if (buf_len(b) == 0)
        return buf_addc(b, '/');
    return CFDR_OK;
}

char *awsconfig_expand_path(const char *path)
{
    struct buf vars, full;
    char *res = NULL;

    buf_init(&vars, BUF_MAX_SMALL);
    buf_init(&full, BUF_MAX_SMALL);
    if (expand_vars(path, &vars) == CFDR_OK && expand_user(buf_str(&vars), &full) == CFDR_OK)
        res = buf_detach(&full, NULL);
    buf_free(&vars);
    buf_free(&full);
    return res;
}

/* ---- shlex ---- */

void awsconfig_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

static cfdr_code argv_push(char ***argv, size_t *argc, struct buf *tok)
{
    char **na = realloc(*argv, (*argc + 2) * sizeof(*na));
    if (!na)
        return CFDR_E_NOMEM;
    *argv = na;
    na[*argc] = buf_detach(tok, NULL);
    if (!na[*argc])
        return CFDR_E_NOMEM;
    na[++*argc] = NULL;
    return CFDR_OK;
}

cfdr_code awsconfig_shlex_split(const char *s, char ***argv_out, size_t *argc_out, cfdr_err *err)
{
    char **argv = NULL;
    size_t argc = 0;
    struct buf tok;
    cfdr_code rc = CFDR_OK;
    /* in_word: a word has started (possibly empty, as with ""); quote: the open quote or 0 */
    int in_word = 0;
    char quote = 0;

    *argv_out = NULL;
    if (argc_out)
        *argc_out = 0;
    buf_init(&tok, BUF_MAX_SMALL);
    argv = calloc(1, sizeof(*argv));
    if (!argv) {
        rc = nomem(err);
        goto out;
    }
    for (const char *p = s;; p++) {
        char c = *p;
        if (c == '\0') {
            if (quote) {
                rc = err_set(err, CFDR_E_CONFIG, "no closing quotation (%c)", quote);
                goto out;
            }
            if (in_word && argv_push(&argv, &argc, &tok)) {
                rc = nomem(err);
                goto out;
            }
            break;
        }
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else if (buf_addc(&tok, c))
                goto toobig;
            continue;
        }
        if (quote == '"') {
            if (c == '"') {
                quote = 0;
            } else if (c == '\\') {
                char n = p[1];
                if (n == '\0') {
                    rc = err_set(err, CFDR_E_CONFIG, "no closing quotation (\")");
                    goto out;
                }
                if (n != '"' && n != '\\' && buf_addc(&tok, '\\'))
                    goto toobig;
                if (buf_addc(&tok, n))
                    goto toobig;
                p++;
            } else if (buf_addc(&tok, c)) {
                goto toobig;
            }
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (in_word) {
                if (argv_push(&argv, &argc, &tok)) {
                    rc = nomem(err);
                    goto out;
                }
                in_word = 0;
            }
            continue;
        }
        in_word = 1;
        if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '\\') {
            if (p[1] == '\0') {
                rc = err_set(err, CFDR_E_CONFIG, "no character after the final backslash");
                goto out;
            }
            if (buf_addc(&tok, *++p))
                goto toobig;
        } else if (buf_addc(&tok, c)) {
            goto toobig;
        }
    }
    *argv_out = argv;
    if (argc_out)
        *argc_out = argc;
    argv = NULL;
    goto out;
toobig:
    rc = err_set(err, CFDR_E_TOOBIG, "a word is longer than %u bytes", BUF_MAX_SMALL);
out:
    buf_free(&tok);
    awsconfig_argv_free(argv);
    return rc;
}
