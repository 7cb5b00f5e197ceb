/* Unit tests for cmd/state and aws/atomicfile: atomic writes, 0600, ownership checks, lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws/atomicfile.h"
#include "cmd/state.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cfdr-state-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_atomicfile(void **state)
{
    char p[300], *text;
    size_t len;
    int existed;
    struct stat st;
    cfdr_err e;
    (void)state;
    path_in(p, sizeof(p), "a.txt");
    assert_int_equal(atomicfile_write(p, "one", 3, 0600, ATOMICFILE_NO_REPLACE, &existed, &e),
                     CFDR_OK);
    assert_int_equal(existed, 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(atomicfile_write(p, "two", 3, 0600, ATOMICFILE_NO_REPLACE, &existed, &e),
                     CFDR_E_IO);
    assert_int_equal(existed, 1);
    assert_int_equal(atomicfile_read(p, 100, &text, &len, &e), CFDR_OK);
    assert_string_equal(text, "one"); /* not replaced */
    free(text);
    assert_int_equal(atomicfile_write(p, "three", 5, 0644, ATOMICFILE_REPLACE, NULL, &e), CFDR_OK);
    assert_int_equal(atomicfile_read(p, 100, &text, &len, &e), CFDR_OK);
    assert_string_equal(text, "three");
    assert_int_equal(len, 5);
    free(text);
    assert_int_equal(atomicfile_read(p, 4, &text, &len, &e), CFDR_E_TOOBIG);
    assert_null(text);
    path_in(p, sizeof(p), "missing");
    assert_int_equal(atomicfile_read(p, 4, &text, &len, &e), CFDR_E_NOTFOUND);
    path_in(p, sizeof(p), "no/such/dir/file");
    assert_int_equal(atomicfile_write(p, "x", 1, 0600, ATOMICFILE_REPLACE, NULL, &e), CFDR_E_IO);
    assert_non_null(strstr(e.msg, "no/such/dir"));
    path_in(p, sizeof(p), "made/deep/er");
    assert_int_equal(atomicfile_mkdirs(p, 0700, &e), CFDR_OK);
    assert_int_equal(atomicfile_mkdirs(p, 0700, &e), CFDR_OK); /* idempotent */
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* only a.txt and made/ remain: no temporary file was left behind */
    assert_int_equal(count_entries(tmpdir), 2);
}

static void test_state_lifecycle(void **state)
{
    struct cfdr_state st;
    char dir[300], file[320];
    struct stat sb;
    json_object *r, *f;
    cfdr_err e;
    (void)state;
    path_in(dir, sizeof(dir), "s1");
    assert_int_equal(state_open(dir, "demo", "local", STATE_MUST_EXIST, &st, &e), CFDR_E_NOTFOUND);
    assert_non_null(strstr(e.msg, "run cfdr --local create first"));
    assert_int_equal(state_open(dir, "demo", "local", STATE_CREATE, &st, &e), CFDR_OK);
    assert_int_equal(state_resource_count(&st), 0);
    f = json_object_new_object();
    json_object_object_add(f, "pid", json_object_new_int(1234));
    assert_int_equal(state_put_resource(&st, "standin", "primary", f, &e), CFDR_OK);
    f = json_object_new_object();
    json_object_object_add(f, "port", json_object_new_int(8080));
    assert_int_equal(state_put_resource(&st, "edge", "edge", f, &e), CFDR_OK);
    /* merging into an existing resource keeps the old fields */
    f = json_object_new_object();
    json_object_object_add(f, "port", json_object_new_int(40001));
    assert_int_equal(state_put_resource(&st, "standin", "primary", f, &e), CFDR_OK);
    assert_int_equal(state_journal_add(&st, "create", NULL, &e), CFDR_OK);
    state_close(&st);

    snprintf(file, sizeof(file), "%s/state.json", dir);
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    assert_int_equal(state_open(dir, "demo", "local", STATE_MUST_EXIST, &st, &e), CFDR_OK);
    assert_int_equal(state_resource_count(&st), 2);
    r = state_resource(&st, "standin", "primary");
    assert_non_null(r);
    assert_int_equal(json_object_get_int(json_object_object_get(r, "pid")), 1234);
    assert_int_equal(json_object_get_int(json_object_object_get(r, "port")), 40001);
    assert_non_null(json_object_object_get(r, "recorded_at"));
    assert_string_equal(
        json_object_get_string(json_object_object_get(state_resource_at(&st, 1), "kind")), "edge");
    assert_int_equal(json_object_array_length(state_journal(&st)), 1);
    assert_int_equal(state_remove_resource(&st, "standin", "primary", &e), CFDR_OK);
    assert_int_equal(state_remove_resource(&st, "standin", "primary", &e), CFDR_OK);
    assert_null(state_resource(&st, "standin", "primary"));
    state_close(&st);
    state_close(&st); /* idempotent */

    /* another project or mode is refused, with what to do */
    assert_int_equal(state_open(dir, "other", "local", STATE_CREATE, &st, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "belongs to project 'demo'"));
    assert_int_equal(state_open(dir, "demo", "aws", STATE_CREATE, &st, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "add --local"));
}

static void test_state_damaged_is_kept(void **state)
{
    struct cfdr_state st;
    char dir[300], file[320], *text;
    size_t len;
    cfdr_err e;
    (void)state;
    path_in(dir, sizeof(dir), "s2");
    assert_int_equal(atomicfile_mkdirs(dir, 0700, &e), CFDR_OK);
    snprintf(file, sizeof(file), "%s/state.json", dir);
    assert_int_equal(
        atomicfile_write(file, "{\"version\": 1, \"proj", 20, 0600, ATOMICFILE_REPLACE, NULL, &e),
        CFDR_OK);
    assert_int_equal(state_open(dir, "demo", "local", STATE_CREATE, &st, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "damaged"));
    assert_int_equal(atomicfile_read(file, 1000, &text, &len, &e), CFDR_OK);
    assert_int_equal(len, 20); /* untouched */
    free(text);
    assert_int_equal(atomicfile_write(file, "[1,2]", 5, 0600, ATOMICFILE_REPLACE, NULL, &e),
                     CFDR_OK);
    assert_int_equal(state_open(dir, "demo", "local", STATE_CREATE, &st, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "not a cfdr state file"));
}

static void test_state_lock_is_exclusive(void **state)
{
    struct cfdr_state a, b;
    char dir[300];
    int ready[2], go[2], status;
    pid_t child;
    cfdr_err e;
    char c;
    (void)state;
    path_in(dir, sizeof(dir), "s3");
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct cfdr_state cs;
        if (state_open(dir, "demo", "local", STATE_CREATE, &cs, NULL) ||
            state_lock(&cs, "create", NULL))
            _exit(1);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        state_close(&cs);
        _exit(0);
    }
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(state_open(dir, "demo", "local", STATE_CREATE, &a, &e), CFDR_OK);
    assert_int_equal(state_lock(&a, "drill outage", &e), CFDR_E_USAGE);
    assert_non_null(strstr(e.msg, "another cfdr is working on"));
    assert_non_null(strstr(e.msg, "cfdr create"));
    {
        char pid[32];
        snprintf(pid, sizeof(pid), "pid %ld", (long)child);
        assert_non_null(strstr(e.msg, pid));
    }
    assert_int_equal(write(go[1], "g", 1), 1);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* released by the holder: now it can be taken, and a second state in-process cannot */
    assert_int_equal(state_lock(&a, "drill outage", &e), CFDR_OK);
    assert_int_equal(state_open(dir, "demo", "local", STATE_CREATE, &b, &e), CFDR_OK);
    assert_int_equal(state_lock(&b, "destroy", &e), CFDR_E_USAGE);
    state_close(&b);
    state_close(&a);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomicfile),
        cmocka_unit_test(test_state_lifecycle),
        cmocka_unit_test(test_state_damaged_is_kept),
        cmocka_unit_test(test_state_lock_is_exclusive),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
