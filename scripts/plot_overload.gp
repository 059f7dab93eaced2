# plot_overload.gp - latency over time at the article's 167 req/s, per build: the mean
# and max of each second's requests (by intended send time), log scale. A build that
# cannot hold the load shows a line that keeps rising. Needs: rundir, timelines (builds
# with a timeline). Reads rundir/plots/overload_NAME.dat (t_s mean_ms max_ms due responses
# errors).
load dir."/plot_common.gp"
set logscale y
set xlabel "second of the measured phase (intended send time)"
set ylabel "latency (ms, log scale)"
set title "Latency over time at 167 req/s (mean solid, max dashed)"
col(b) = buildcolor[(int(b[1:2]) - 1) % 6 + 1]
file(b) = rundir."/plots/overload_".b.".dat"
if (words(timelines) == 0) { set xrange [0:1]; set yrange [0.1:1000] }
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/overload.".fmt
    plot for [i=1:words(timelines)] file(word(timelines,i)) using 1:2 title word(timelines,i)." mean" lw 2 pt 7 ps 0.5 lc rgb col(word(timelines,i)), \
         for [i=1:words(timelines)] file(word(timelines,i)) using 1:3 title word(timelines,i)." max" lw 1 dt 2 pt 0 lc rgb col(word(timelines,i)), \
         NaN notitle
    set output
}
