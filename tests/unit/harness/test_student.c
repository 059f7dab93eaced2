/* test_student.c - a student's names and ports: validation, the three mappings, roster
 * slots (unique, in order), the hashed fallback, and database URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "student.h"

static void test_names(void **state)
{
    (void)state;
    assert_true(student_name_valid("alice"));
    assert_true(student_name_valid("bob_2"));
    assert_true(student_name_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    assert_false(student_name_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
    assert_false(student_name_valid(""));
    assert_false(student_name_valid(NULL));
    assert_false(student_name_valid("Alice"));
    assert_false(student_name_valid("al-ice"));
    assert_false(student_name_valid("a\"; DROP DATABASE x; --"));
    assert_false(student_name_valid("a b"));
}

static void test_mappings(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(student_database("alice", out, sizeof out), 0);
    assert_string_equal(out, "apibench_alice");
    assert_int_equal(student_redis_prefix("alice", out, sizeof out), 0);
    assert_string_equal(out, "alice:");
    assert_int_equal(student_database("Bad-Name", out, sizeof out), -1);
    assert_int_equal(student_database("alice", out, 8), -1); /* does not fit */
    int base = student_port_base("alice");
    assert_true(base >= STUDENT_PORT_FIRST && base <= STUDENT_PORT_FIRST + 100 * 99);
    assert_int_equal(base % 100, 0);
    assert_int_equal(student_port_base("alice"), base); /* stable */
    assert_int_equal(student_port_base("x-y"), -1);
}

static char *write_roster(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/apibench-roster-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_roster_slots(void **state)
{
    (void)state;
    char *path = write_roster("# room 2\nalice\n\n  bob   # at the back\ncarol\n");
    struct student s;
    char err[256];
    assert_int_equal(student_init(&s, "alice", path, err, sizeof err), 0);
    assert_int_equal(s.slot, 0);
    assert_int_equal(s.port_base, STUDENT_PORT_FIRST);
    assert_true(s.slot_from_roster);
    assert_string_equal(s.database, "apibench_alice");
    assert_string_equal(s.redis_prefix, "alice:");
    assert_int_equal(student_init(&s, "bob", path, err, sizeof err), 0);
    assert_int_equal(s.port_base, STUDENT_PORT_FIRST + 100);
    assert_int_equal(student_init(&s, "carol", path, err, sizeof err), 0);
    assert_int_equal(s.port_base, STUDENT_PORT_FIRST + 200);
    assert_int_equal(student_init(&s, "dave", path, err, sizeof err), -1);
    assert_non_null(strstr(err, "not in roster"));
    unlink(path);

    path = write_roster("alice\nbob\nalice\n");
    assert_int_equal(student_init(&s, "bob", path, err, sizeof err), -1);
    assert_non_null(strstr(err, "listed twice"));
    unlink(path);
    path = write_roster("alice\nBad Name\n");
    assert_int_equal(student_init(&s, "alice", path, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2"));
    unlink(path);
    assert_int_equal(student_init(&s, "alice", "/nonexistent/roster", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read roster"));
}

static void test_hashed_slot_without_roster(void **state)
{
    (void)state;
    struct student s;
    char err[256];
    assert_int_equal(student_init(&s, "alice", NULL, err, sizeof err), 0);
    assert_false(s.slot_from_roster);
    assert_int_equal(s.port_base, student_port_base("alice"));
    assert_int_equal(student_init(&s, "ALICE", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad student name"));
}

static void test_database_url(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(student_database_url("postgresql://app@127.0.0.1:55432/apibench",
                                          "apibench_alice", out, sizeof out), 0);
    assert_string_equal(out, "postgresql://app@127.0.0.1:55432/apibench_alice");
    assert_int_equal(student_database_url("postgres://u:p@h/db?sslmode=disable", "apibench_bob",
                                          out, sizeof out), 0);
    assert_string_equal(out, "postgres://u:p@h/apibench_bob?sslmode=disable");
    assert_int_equal(student_database_url("postgresql://h:5432", "x", out, sizeof out), 0);
    assert_string_equal(out, "postgresql://h:5432/x");
    assert_int_equal(student_database_url("host=h dbname=apibench", "x", out, sizeof out), 0);
    assert_string_equal(out, "host=h dbname=apibench dbname=x");
    assert_int_equal(student_database_url("postgresql://h/db", "x", out, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_mappings),
        cmocka_unit_test(test_roster_slots),
        cmocka_unit_test(test_hashed_slot_without_roster),
        cmocka_unit_test(test_database_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
