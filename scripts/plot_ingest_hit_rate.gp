# plot_ingest_hit_rate.gp - the cache hit rate of 03-06 as the ingest rate rises
# (scripts/bench_ingest.sh, part 3): every ingest invalidates the cached headline pages.
# Needs: dir (scripts/), rundir, builds, read_rate. Reads rundir/plots/hit_rate_NAME.dat
# (ingests/s readings/s headline_reads/s headline_hit_% all_lookups_hit_% errors), writes
# rundir/plots/ingest_hit_rate.{png,svg}.
load dir."/plot_common.gp"
set logscale x
set xlabel "ingest rate (readings/s in 100-reading batches, log scale)"
set ylabel "cache hit rate (%)"
set yrange [0:100]
col(b) = buildcolor[(int(b[1:2]) - 1) % 6 + 1]
file(b) = rundir."/plots/hit_rate_".b.".dat"
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/ingest_hit_rate.".fmt
    set title sprintf("Cache hit rate vs ingest rate (headline reads at %g req/s; dashed: all lookups, API keys included)", read_rate)
    plot for [i=1:words(builds)] file(word(builds,i)) using 2:4 title word(builds,i)." headline" \
             lw 2 pt 7 lc rgb col(word(builds,i)), \
         for [i=1:words(builds)] file(word(builds,i)) using 2:5 title word(builds,i)." all" \
             dt 2 lw 1 pt 6 lc rgb col(word(builds,i))
    set output
}
