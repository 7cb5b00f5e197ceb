/* Tests for cmd/daemon: background cfdr processes, identity by PID and start time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cmd/daemon.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cfdr-daemon-test-XXXXXX");
    if (!mkdtemp(tmpdir) || !getenv("CFDR_BIN"))
        return -1;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    curl_global_cleanup();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static long http_status(int port)
{
    char url[64];
    long status = 0;
    CURL *c = curl_easy_init();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static void test_spawn_check_stop(void **state)
{
    const char *argv[] = {"_standin", "--region", "us-east-1", "--service", "t-east", NULL};
    char logp[128], *ready = NULL;
    struct daemon_id id, wrong;
    enum daemon_state was;
    json_object *j;
    int port;
    cfdr_err e;
    (void)state;
    snprintf(logp, sizeof(logp), "%s/standin.log", tmpdir);
    assert_int_equal(daemon_spawn(getenv("CFDR_BIN"), argv, logp, 15000, &id, &ready, &e), CFDR_OK);
    assert_non_null(ready);
    j = json_tokener_parse(ready);
    assert_non_null(j);
    port = json_object_get_int(json_object_object_get(j, "port"));
    assert_true(port > 0);
    json_object_put(j);
    free(ready);
    assert_int_equal(http_status(port), 200);
    assert_int_equal(daemon_check(&id, "_standin"), DAEMON_OURS);
    assert_int_equal(daemon_check(&id, "edge"), DAEMON_STRANGER); /* wrong role */

    /* Same PID, another start time: a reused PID is a stranger and is never signalled. */
    wrong = id;
    wrong.start_time++;
    assert_int_equal(daemon_check(&wrong, "_standin"), DAEMON_STRANGER);
    assert_int_equal(daemon_stop(&wrong, "_standin", 500, &was, &e), CFDR_OK);
    assert_int_equal(was, DAEMON_STRANGER);
    assert_int_equal(http_status(port), 200); /* still serving */

    assert_int_equal(daemon_stop(&id, "_standin", 3000, &was, &e), CFDR_OK);
    assert_int_equal(was, DAEMON_OURS);
    assert_int_equal(daemon_check(&id, "_standin"), DAEMON_GONE);
    /* (Not: "its port refuses now". Another test running in parallel may bind the freed port.) */
    /* stopping again finds nothing and is fine */
    assert_int_equal(daemon_stop(&id, "_standin", 500, &was, &e), CFDR_OK);
    assert_int_equal(was, DAEMON_GONE);
}

static void test_spawn_failure_quotes_the_log(void **state)
{
    const char *argv[] = {"_standin", "--service", "no-region", NULL};
    char logp[128], *ready = (char *)1;
    struct daemon_id id;
    cfdr_err e;
    (void)state;
    snprintf(logp, sizeof(logp), "%s/bad.log", tmpdir);
    assert_int_equal(daemon_spawn(getenv("CFDR_BIN"), argv, logp, 15000, &id, &ready, &e),
                     CFDR_E_IO);
    assert_null(ready);
    assert_non_null(strstr(e.msg, "exited before it was ready"));
    assert_non_null(strstr(e.msg, "--region"));
}

static void test_identify(void **state)
{
    struct daemon_id me, none;
    cfdr_err e;
    (void)state;
    assert_int_equal(daemon_identify(getpid(), &me, &e), CFDR_OK);
    assert_int_equal(me.pid, getpid());
    assert_true(me.start_time > 0);
    none.pid = 0x3ffffff0; /* beyond pid_max */
    none.start_time = 1;
    assert_int_equal(daemon_identify(none.pid, &none, &e), CFDR_E_NOTFOUND);
    assert_int_equal(daemon_check(&none, "x"), DAEMON_GONE);
    /* the test binary is not cfdr: never "ours" even with the right start time */
    assert_int_equal(daemon_check(&me, "test_daemon"), DAEMON_STRANGER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_check_stop),
        cmocka_unit_test(test_spawn_failure_quotes_the_log),
        cmocka_unit_test(test_identify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
