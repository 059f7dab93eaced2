/* test_report.c - the report's e-mail subject and plain-text body, from a report JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apibench/report.h"

static json_t *sample(void)
{
    json_error_t e;
    json_t *r = json_loads(
        "{\"kind\":\"site\",\"target_id\":3,\"hours\":24,"
        "\"window\":{\"from\":\"2026-11-26T10:00:00.000Z\",\"to\":\"2026-11-27T10:00:00.000Z\"},"
        "\"devices\":[{\"id\":11,\"name\":\"boiler-11\",\"site_id\":3,\"readings\":2,"
        "\"temperature\":{\"min\":20.5,\"avg\":21.25,\"max\":22},\"humidity_avg\":40.126,"
        "\"battery\":{\"min\":80,\"last\":81.5},\"first_at\":\"2026-11-26T11:00:00.000Z\","
        "\"last_at\":\"2026-11-27T09:00:00.000Z\"},"
        "{\"id\":12,\"name\":\"quiet-12\",\"site_id\":3,\"readings\":0,\"temperature\":null,"
        "\"humidity_avg\":null,\"battery\":null,\"first_at\":null,\"last_at\":null}],"
        "\"totals\":{\"devices\":2,\"readings\":2}}",
        0, &e);
    assert_non_null(r);
    return r;
}

static void test_subject(void **state)
{
    (void)state;
    json_t *r = sample();
    char buf[160];
    report_mail_subject(r, buf, sizeof(buf));
    assert_string_equal(buf, "apibench report: site 3, last 24 hours");
    json_decref(r);
}

static void test_body(void **state)
{
    (void)state;
    json_t *r = sample();
    char *text = report_mail_text(r, 99);
    const char *expect =
        "Report for site 3 over the last 24 hours (job 99)\n"
        "Window: 2026-11-26T10:00:00.000Z to 2026-11-27T10:00:00.000Z\n"
        "\n"
        "Device 11 (boiler-11), site 3: 2 readings\n"
        "  temperature (C): min 20.50 avg 21.25 max 22.00\n"
        "  humidity (%): avg 40.13\n"
        "  battery (%): min 80.00 last 81.50\n"
        "  first 2026-11-26T11:00:00.000Z, last 2026-11-27T09:00:00.000Z\n"
        "Device 12 (quiet-12), site 3: 0 readings\n"
        "\n"
        "Totals: 2 devices, 2 readings\n";
    assert_string_equal(text, expect);
    free(text);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject),
        cmocka_unit_test(test_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
