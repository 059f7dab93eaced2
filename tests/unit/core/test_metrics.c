/* test_metrics.c - counters and the Prometheus text: names the harness reads, cumulative
 * histogram buckets, and request counts by route and status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "apibench/metrics.h"
#include "apibench/strbuf.h"

static void test_counters_and_text(void **state)
{
    (void)state;
    metrics_reset();
    metrics_add(C_DB_QUERIES, 15);
    metrics_add(C_DB_QUERIES, 2);
    metrics_add(C_CACHE_L2_ERROR, 1);
    metrics_add(C_BYTES_AFTER_ENCODING, 300);
    assert_true(metrics_get(C_DB_QUERIES) == 17);
    metrics_observe_request(R_LATEST, 200, 3000);    /* 3 ms */
    metrics_observe_request(R_LATEST, 200, 2000000); /* 2 s */
    metrics_observe_request(R_LATEST, 503, 100);
    metrics_observe_request(R_DEVICE, 418, 100); /* an unusual status is still counted */
    struct strbuf out = {0};
    metrics_render(&out, "05-gzip");
    const char *expect[] = {
        "apibench_build_info{build=\"05-gzip\"} 1\n",
        "apibench_db_queries_total 17\n",
        "apibench_db_connections_opened_total 0\n",
        "apibench_cache_lookups_total{level=\"l2\",result=\"error\"} 1\n",
        "apibench_response_bytes_total{stage=\"sent\"} 300\n",
        "http_requests_total{route=\"latest\",status=\"200\"} 2\n",
        "http_requests_total{route=\"latest\",status=\"503\"} 1\n",
        "http_requests_total{route=\"device\",status=\"other\"} 1\n",
        "http_request_duration_seconds_bucket{route=\"latest\",le=\"0.001\"} 1\n",
        "http_request_duration_seconds_bucket{route=\"latest\",le=\"0.005\"} 2\n",
        "http_request_duration_seconds_bucket{route=\"latest\",le=\"1\"} 2\n",
        "http_request_duration_seconds_bucket{route=\"latest\",le=\"2.5\"} 3\n",
        "http_request_duration_seconds_bucket{route=\"latest\",le=\"+Inf\"} 3\n",
        "http_request_duration_seconds_count{route=\"latest\"} 3\n",
        "http_request_duration_seconds_sum{route=\"latest\"} 2.003100\n",
        "# TYPE process_cpu_seconds_total counter\n",
        "# TYPE process_resident_memory_bytes gauge\n",
        "process_start_time_seconds ",
        "apibench_pool_waits_total 0\n",
        "apibench_pool_timeouts_total 0\n",
        "apibench_cache_invalidations_total 0\n",
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (!strstr(out.data, expect[i]))
            fail_msg("/metrics lacks: %s", expect[i]);
    /* routes without requests print no histogram */
    assert_null(strstr(out.data, "route=\"ingest\""));
    strbuf_free(&out);
    metrics_reset();
    assert_true(metrics_get(C_DB_QUERIES) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_counters_and_text)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
