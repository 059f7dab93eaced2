/* test_seed_keys.c - API key derivation against vectors computed with sha256sum:
 *   printf 'apibench-key:1:1' | sha256sum
 *   printf 'apibench-key:42:5' | sha256sum
 *   printf 'ak_79b08343953db126f5090e2ba88750dd' | sha256sum */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "seed_keys.h"

static void key_of_user_1_seed_1(void **state)
{
    (void)state;
    char key[40];
    assert_int_equal(seed_api_key(1, 1, key), 0);
    assert_string_equal(key, "ak_79b08343953db126f5090e2ba88750dd");
    assert_int_equal(strlen(key), SEED_KEY_LEN);
}

static void key_of_user_5_seed_42(void **state)
{
    (void)state;
    char key[40];
    assert_int_equal(seed_api_key(42, 5, key), 0);
    assert_string_equal(key, "ak_2c6a3384ab1661887002dcee48274e41");
}

static void keys_differ_by_user_and_seed(void **state)
{
    (void)state;
    char a[40], b[40], c[40];
    assert_int_equal(seed_api_key(1, 2, a), 0);
    assert_int_equal(seed_api_key(1, 3, b), 0);
    assert_int_equal(seed_api_key(2, 2, c), 0);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
}

static void hash_is_sha256_of_the_key(void **state)
{
    (void)state;
    static const unsigned char want[32] = {0x4d, 0xb9, 0x78, 0x41, 0x2f, 0xb1, 0x84, 0xb6,
                                           0x9b, 0xb0, 0x99, 0x49, 0x30, 0xaa, 0x16, 0xdd,
                                           0xb0, 0x79, 0xb6, 0x04, 0x76, 0x24, 0x33, 0x6c,
                                           0x70, 0xf0, 0xef, 0xca, 0xb6, 0xa6, 0x37, 0x2f};
    unsigned char got[32];
    assert_int_equal(seed_key_hash("ak_79b08343953db126f5090e2ba88750dd", got), 0);
    assert_memory_equal(got, want, 32);
}

static void bad_user_is_refused(void **state)
{
    (void)state;
    char key[40] = "x";
    assert_int_equal(seed_api_key(1, 0, key), -1);
    assert_string_equal(key, "");
    assert_int_equal(seed_api_key(1, -3, key), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_of_user_1_seed_1),         cmocka_unit_test(key_of_user_5_seed_42),
        cmocka_unit_test(keys_differ_by_user_and_seed), cmocka_unit_test(hash_is_sha256_of_the_key),
        cmocka_unit_test(bad_user_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
