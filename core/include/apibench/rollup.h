/* rollup.h - the scheduled aggregation of 06-async: readings folded into hourly rows
 * (readings_hourly, sql/async.sql) that report_build(REPORT_FROM_ROLLUP) reads for whole
 * hours. apibench-worker refreshes it on a timer.
 *
 * rollup_state.complete_through is the watermark: hours before it are folded in. Each
 * refresh re-folds the two hours below the old watermark (late readings up to two hours
 * behind their timestamp are caught) and moves the watermark to the current hour. When the
 * readings were re-anchored (seed_info.anchor changed, e.g. by `apibench freshen`) or on the
 * first run, it rebuilds the whole table. */
#ifndef APIBENCH_ROLLUP_H
#define APIBENCH_ROLLUP_H

#include <stddef.h>

struct dbconn;

/* Refreshes readings_hourly in one transaction. Another refresher holding the lock makes
 * this one return 0 at once (*rows = -1). Returns 0 with *rows the hourly rows written, or
 * -1 with a one-line reason in err (the transaction is rolled back). */
int rollup_refresh(struct dbconn *c, long long *rows, char *err, size_t errlen);

/* The same inside the caller's transaction (no BEGIN/COMMIT; on -1 the caller rolls
 * back). Used to measure the rollup inside a transaction that is then rolled back. */
int rollup_refresh_in_tx(struct dbconn *c, long long *rows, char *err, size_t errlen);

#endif
