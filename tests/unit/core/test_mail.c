/* test_mail.c - the report e-mail's wire format (mail_format) and address checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apibench/mail.h"
#include "apibench/strbuf.h"

static void test_headers_and_crlf_body(void **state)
{
    (void)state;
    struct strbuf out = {0};
    struct mail m = {"reports@apibench.local", "ops@example.com", "apibench report: device 7",
                     "line one\nline two\n.dot line", 42, NULL};
    /* 2026-11-27 10:00:00 UTC is a Friday. */
    assert_int_equal(mail_format(&m, (time_t)1795773600, 0xabc, &out), 0);
    const char *expect = "From: reports@apibench.local\r\n"
                         "To: ops@example.com\r\n"
                         "Subject: apibench report: device 7\r\n"
                         "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
                         "Message-ID: <report-42.abc@apibench.local>\r\n"
                         "X-Apibench-Job: 42\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\n"
                         "Content-Transfer-Encoding: 8bit\r\n"
                         "\r\n"
                         "line one\r\nline two\r\n.dot line\r\n";
    assert_string_equal(out.data, expect);
    strbuf_free(&out);
}

static void test_crlf_in_body_is_not_doubled(void **state)
{
    (void)state;
    struct strbuf out = {0};
    struct mail m = {"a@b.c", "d@e.f", "s", "x\r\ny\r\n", 1, NULL};
    assert_int_equal(mail_format(&m, 0, 1, &out), 0);
    const char *body = strstr(out.data, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "x\r\ny\r\n");
    strbuf_free(&out);
}

static void test_refuses_header_injection(void **state)
{
    (void)state;
    struct strbuf out = {0};
    struct mail bad_subject = {"a@b.c", "d@e.f", "hi\r\nBcc: x@y.z", "body", 1, NULL};
    assert_int_equal(mail_format(&bad_subject, 0, 1, &out), -1);
    struct mail bad_to = {"a@b.c", "d@e.f\r\nBcc: x@y.z", "s", "body", 1, NULL};
    assert_int_equal(mail_format(&bad_to, 0, 1, &out), -1);
    strbuf_free(&out);
}

static void test_address_ok(void **state)
{
    (void)state;
    assert_true(mail_address_ok("user1@example.com"));
    assert_true(mail_address_ok("apibench@localhost"));
    assert_false(mail_address_ok(""));
    assert_false(mail_address_ok(NULL));
    assert_false(mail_address_ok("no-at-sign"));
    assert_false(mail_address_ok("@example.com"));
    assert_false(mail_address_ok("a@"));
    assert_false(mail_address_ok("a@b@c"));
    assert_false(mail_address_ok("a b@example.com"));
    assert_false(mail_address_ok("<a@example.com>"));
    assert_false(mail_address_ok("a@example.com,b@example.com"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_and_crlf_body),
        cmocka_unit_test(test_crlf_in_body_is_not_doubled),
        cmocka_unit_test(test_refuses_header_injection),
        cmocka_unit_test(test_address_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
