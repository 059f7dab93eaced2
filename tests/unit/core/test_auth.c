/* test_auth.c - API key hashing and comparison, site lists, and the cached caller form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apibench/auth.h"
#include "apibench/render.h"

static void test_hash_and_match(void **state)
{
    (void)state;
    unsigned char h[32];
    char param[67];
    assert_int_equal(auth_hash_key("abc", h), 0);
    auth_hash_param(h, param);
    /* SHA-256("abc"), the FIPS 180-2 test vector */
    assert_string_equal(param,
                        "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(auth_hash_matches(param, h));
    char upper[67];
    strcpy(upper, param);
    for (char *p = upper + 2; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_true(auth_hash_matches(upper, h));
    param[66 - 1] = param[65] == '0' ? '1' : '0'; /* last digit differs */
    assert_false(auth_hash_matches(param, h));
    assert_false(auth_hash_matches("\\xba78", h));
    assert_false(auth_hash_matches(NULL, h));
    assert_false(auth_hash_matches("", h));
}

static void test_sites(void **state)
{
    (void)state;
    struct caller who;
    assert_int_equal(auth_parse_sites("{5,1,3}", &who), 0);
    assert_int_equal(who.nsites, 3);
    assert_int_equal(who.sites[0], 1);
    assert_int_equal(who.sites[2], 5);
    assert_true(auth_may_see_site(&who, 3));
    assert_false(auth_may_see_site(&who, 2));
    assert_false(auth_may_see_site(&who, 6));
    assert_int_equal(auth_parse_sites("{}", &who), 0);
    assert_int_equal(who.nsites, 0);
    assert_false(auth_may_see_site(&who, 1));
    assert_int_equal(auth_parse_sites("{1,x}", &who), -1);
    assert_int_equal(auth_parse_sites("1,2", &who), -1);
    assert_int_equal(auth_parse_sites("{1,2}junk", &who), -1);
}

static void test_caller_json_round_trip(void **state)
{
    (void)state;
    struct caller who = {.user_id = 4, .email = "t@apibench.test", .nsites = 2, .sites = {2, 7}};
    json_t *j = auth_caller_to_json(&who);
    size_t len;
    char *s = render_json(j, &len);
    json_decref(j);
    assert_string_equal(s, "{\"user_id\":4,\"email\":\"t@apibench.test\",\"sites\":[2,7]}");
    struct caller back;
    assert_int_equal(auth_caller_from_json(s, len, &back), 0);
    assert_int_equal(back.user_id, 4);
    assert_string_equal(back.email, who.email);
    assert_int_equal(back.nsites, 2);
    assert_int_equal(back.sites[1], 7);
    free(s);
    /* a damaged cache entry is a miss, not a caller */
    assert_int_equal(auth_caller_from_json("{\"user_id\":\"4\"}", 15, &back), -1);
    assert_int_equal(auth_caller_from_json("not json", 8, &back), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_and_match),
        cmocka_unit_test(test_sites),
        cmocka_unit_test(test_caller_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
