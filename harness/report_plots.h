/* report_plots.h - the data files behind a reproduction's plots, and gnuplot to draw them
 * with the scripts/plot_*.gp scripts (PNG through pngcairo, and SVG). */
#ifndef APIBENCH_REPORT_PLOTS_H
#define APIBENCH_REPORT_PLOTS_H

#include <jansson.h>
#include <stddef.h>

/* The folder holding plot_*.gp: $APIBENCH_SCRIPTS when set, else scripts/ of the checkout
 * the running executable was built in (<exe dir>/../scripts), else "scripts". Static buffer. */
const char *report_scripts_dir(void);

/* Runs `gnuplot -e VARS DIR/SCRIPT` and waits for it. vars is gnuplot source setting the
 * script's variables. Returns 0, or -1 with err filled (gnuplot missing, failed). */
int report_gnuplot(const char *script, const char *vars, char *err, size_t errlen);

/* Writes the .dat files in run_dir/plots from summary and draws every plot of the report. Returns 0,
 * or -1 with err filled; the .dat files written so far stay. */
int report_plots_write(const json_t *summary, const char *run_dir, char *err, size_t errlen);

/* Writes the gnuplot value of x ("?" for missing, gnuplot's missing-data mark) to f. */
void report_dat_num(FILE *f, const json_t *x);

#endif
