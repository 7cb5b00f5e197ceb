/* Unit tests for aws/buf and aws/err. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "aws/buf.h"
#include "aws/err.h"

static void test_buf_append_and_format(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 1024);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_adds(&b, "abc"), CFDR_OK);
    assert_int_equal(buf_addc(&b, '-'), CFDR_OK);
    assert_int_equal(buf_addf(&b, "%d/%s", 42, "x"), CFDR_OK);
    assert_string_equal(buf_str(&b), "abc-42/x");
    assert_int_equal(buf_len(&b), 8);
    buf_truncate(&b, 3);
    assert_string_equal(buf_str(&b), "abc");
    buf_reset(&b);
    assert_int_equal(buf_len(&b), 0);
    assert_string_equal(buf_str(&b), "");
    buf_free(&b);
    buf_free(&b); /* idempotent */
}

static void test_buf_limit_is_hard(void **state)
{
    struct buf b;
    char big[100];
    (void)state;
    memset(big, 'x', sizeof(big));
    buf_init(&b, 10);
    assert_int_equal(buf_add(&b, big, 10), CFDR_OK);
    assert_int_equal(buf_add(&b, big, 1), CFDR_E_TOOBIG);
    assert_int_equal(buf_addf(&b, "%s", "y"), CFDR_E_TOOBIG);
    /* a failed append leaves the contents as they were */
    assert_int_equal(buf_len(&b), 10);
    assert_memory_equal(buf_str(&b), big, 10);
    assert_int_equal(buf_add(&b, big, (size_t)-1), CFDR_E_TOOBIG);
    buf_free(&b);
}

static void test_buf_grows_and_detaches(void **state)
{
    struct buf b;
    size_t len = 0;
    char *p;
    (void)state;
    buf_init(&b, BUF_MAX_DOC);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf_addf(&b, "%04d", i % 10000), CFDR_OK);
    assert_int_equal(buf_len(&b), 40000);
    assert_memory_equal(buf_str(&b) + 39996, "9999", 4);
    p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 40000);
    assert_int_equal(buf_len(&b), 0);
    assert_string_equal(buf_str(&b), "");
    free(p);
    p = buf_detach(&b, NULL); /* empty buffer detaches as "" */
    assert_string_equal(p, "");
    free(p);
}

static void test_err_set_wrap_and_exit(void **state)
{
    cfdr_err e;
    (void)state;
    err_clear(&e);
    assert_int_equal(e.code, CFDR_OK);
    assert_int_equal(
        err_set(&e, CFDR_E_CONFIG, "origin_group.connection_attempts: %d is out of range 1-3", 5),
        CFDR_E_CONFIG);
    assert_int_equal(err_wrap(&e, "loading %s", "cfdr.json"), CFDR_E_CONFIG);
    assert_string_equal(
        e.msg, "loading cfdr.json: origin_group.connection_attempts: 5 is out of range 1-3");
    assert_int_equal(err_exit_status(CFDR_OK), 0);
    assert_int_equal(err_exit_status(CFDR_E_CHECK), 1);
    assert_int_equal(err_exit_status(CFDR_E_USAGE), 2);
    assert_int_equal(err_exit_status(CFDR_E_CONFIG), 2);
    assert_int_equal(err_exit_status(CFDR_E_AWS), 3);
    assert_int_equal(err_exit_status(CFDR_E_NET), 3);
    assert_int_equal(err_exit_status(CFDR_E_INTERRUPTED), 130);
    assert_string_equal(err_code_name(CFDR_E_AWS), "aws");
    assert_int_equal(err_set(NULL, CFDR_E_IO, "ignored"), CFDR_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_and_format),
        cmocka_unit_test(test_buf_limit_is_hard),
        cmocka_unit_test(test_buf_grows_and_detaches),
        cmocka_unit_test(test_err_set_wrap_and_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
