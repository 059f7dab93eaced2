# plot_latency_throughput.gp - p50 and p99 against achieved rate for every build, log-log,
# from the capacity search's probes (wrk2 / TechEmpower style), with the generator's floor
# (its p50 and p99 against nginx at 167 req/s) and the SLO drawn across. Needs: rundir,
# swept (builds with probes), slo_ms, floor_p50, floor_p99 (0 = not measured). Reads
# rundir/plots/latency_throughput_NAME.dat (achieved_rps p50_ms p99_ms holds).
load dir."/plot_common.gp"
set logscale x
set logscale y
set xlabel "achieved rate (req/s, log scale)"
set ylabel "latency (ms, log scale)"
set title sprintf("Latency against throughput (search probes; SLO p99 < %g ms)", slo_ms)
col(b) = buildcolor[(int(b[1:2]) - 1) % 6 + 1]
file(b) = rundir."/plots/latency_throughput_".b.".dat"
if (words(swept) == 0) { set xrange [1:10]; set yrange [0.1:1000] }
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/latency_throughput.".fmt
    plot for [i=1:words(swept)] file(word(swept,i)) using 1:3 title word(swept,i)." p99" lw 2 pt 7 lc rgb col(word(swept,i)), \
         for [i=1:words(swept)] file(word(swept,i)) using 1:2 title word(swept,i)." p50" lw 1 pt 6 dt 3 lc rgb col(word(swept,i)), \
         slo_ms title "SLO" dt 2 lc rgb "#cc0000", \
         (floor_p99 > 0 ? floor_p99 : NaN) title "generator floor p99" dt 4 lc rgb "#555555", \
         (floor_p50 > 0 ? floor_p50 : NaN) title "generator floor p50" dt 3 lc rgb "#999999"
    set output
}
