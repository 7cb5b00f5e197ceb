/* atomicfile: see atomicfile.h. */
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/buf.h"

static cfdr_code dir_of(const char *path, struct buf *out)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return buf_adds(out, ".");
    if (slash == path)
        return buf_adds(out, "/");
    return buf_add(out, path, (size_t)(slash - path));
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

cfdr_code atomicfile_write(const char *path, const void *data, size_t len, mode_t perm,
                           enum atomicfile_mode mode, int *existed, cfdr_err *err)
{
    struct buf dir, tmp;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int fd = -1, dfd = -1, tmp_made = 0;
    cfdr_code rc;

    if (existed)
        *existed = 0;
    buf_init(&dir, BUF_MAX_SMALL);
    buf_init(&tmp, BUF_MAX_SMALL);
    if (mode == ATOMICFILE_NO_REPLACE && path_exists(path)) {
        if (existed)
            *existed = 1;
        rc = err_set(err, CFDR_E_IO, "%s already exists", path);
        goto out;
    }
    if ((rc = dir_of(path, &dir)) ||
        (rc = buf_addf(&tmp, "%s/.%s.tmp-XXXXXX", buf_str(&dir), base))) {
        rc = err_set(err, rc, "%s: path too long", path);
        goto out;
    }
    fd = mkstemp(tmp.p);
    if (fd < 0) {
        rc = err_set(err, CFDR_E_IO, "%s: cannot create a temporary file in %s: %s", path,
                     buf_str(&dir), strerror(errno));
        goto out;
    }
    tmp_made = 1;
    if (fchmod(fd, perm) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = err_set(err, CFDR_E_IO, "%s: cannot write %s: %s", path, buf_str(&tmp),
                     strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = err_set(err, CFDR_E_IO, "%s: cannot write %s: %s", path, buf_str(&tmp),
                     strerror(errno));
        goto out;
    }
    fd = -1;
    if (mode == ATOMICFILE_REPLACE) {
        if (rename(buf_str(&tmp), path) != 0) {
            rc = err_set(err, CFDR_E_IO, "%s: cannot replace it: %s", path, strerror(errno));
            goto out;
        }
        tmp_made = 0;
    } else if (link(buf_str(&tmp), path) == 0) {
        /* link() never replaces: a file that appeared since the check above is kept */
        unlink(buf_str(&tmp));
        tmp_made = 0;
    } else if (errno == EEXIST) {
        if (existed)
            *existed = 1;
        rc = err_set(err, CFDR_E_IO, "%s already exists", path);
        goto out;
    } else {
        /* file systems without hard links: check, then rename (a small race remains) */
        if (path_exists(path)) {
            if (existed)
                *existed = 1;
            rc = err_set(err, CFDR_E_IO, "%s already exists", path);
            goto out;
        }
        if (rename(buf_str(&tmp), path) != 0) {
            rc = err_set(err, CFDR_E_IO, "%s: cannot create it: %s", path, strerror(errno));
            goto out;
        }
        tmp_made = 0;
    }
    /* make the new directory entry durable too */
    dfd = open(buf_str(&dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL)) {
        rc = err_set(err, CFDR_E_IO, "%s: written, but syncing %s failed: %s", path, buf_str(&dir),
                     strerror(errno));
        goto out;
    }
    rc = CFDR_OK;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp_made)
        unlink(buf_str(&tmp));
    buf_free(&dir);
    buf_free(&tmp);
    return rc;
}

cfdr_code atomicfile_read(const char *path, size_t max, char **out, size_t *len, cfdr_err *err)
{
    struct buf b;
    char chunk[16384];
    ssize_t n;
    int fd;
    cfdr_code rc = CFDR_OK;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(err, CFDR_E_NOTFOUND, "%s does not exist", path);
        return err_set(err, CFDR_E_IO, "cannot open %s: %s", path, strerror(errno));
    }
    {
        struct stat st;
        if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
            rc = err_set(err, CFDR_E_IO, "%s %s", path,
                         S_ISDIR(st.st_mode) ? "is a directory, not a file" : "cannot be read");
            close(fd);
            return rc;
        }
    }
    buf_init(&b, max);
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = err_set(err, CFDR_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if ((rc = buf_add(&b, chunk, (size_t)n))) {
            rc = err_set(err, rc, "%s is larger than %zu bytes", path, max);
            break;
        }
    }
    close(fd);
    if (rc) {
        buf_free(&b);
        return rc;
    }
    *out = buf_detach(&b, len);
    if (!*out)
        return err_set(err, CFDR_E_NOMEM, "out of memory reading %s", path);
    return CFDR_OK;
}

cfdr_code atomicfile_mkdirs(const char *path, mode_t perm, cfdr_err *err)
{
    struct buf b;
    cfdr_code rc;
    buf_init(&b, BUF_MAX_SMALL);
    if ((rc = buf_adds(&b, path)))
        return err_set(err, rc, "%s: path too long", path);
    for (char *p = b.p + 1;; p++) {
        char c = *p;
        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(b.p, perm) != 0 && errno != EEXIST) {
            rc = err_set(err, CFDR_E_IO, "cannot create directory %s: %s", b.p, strerror(errno));
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    if (!rc) {
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = err_set(err, CFDR_E_IO, "%s exists but is not a directory", path);
    }
    buf_free(&b);
    return rc;
}
