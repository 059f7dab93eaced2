# plot_capacity.gp - capacity curves from each build's capacity search probes (every
# repeat's, by offered rate): achieved vs offered rate, and p99 vs offered rate with the
# SLO. Needs: rundir, swept (the builds that have probes). Reads
# rundir/plots/capacity_NAME.dat (offered achieved p99_ms error_rate holds).
load dir."/plot_common.gp"
if (!exists("slo_ms")) slo_ms = 500
set logscale x
set logscale y
set xlabel "offered rate (req/s, log scale)"
col(b) = buildcolor[(int(b[1:2]) - 1) % 6 + 1]
file(b) = rundir."/plots/capacity_".b.".dat"
# no probes at all (an older results folder): draw the empty axes
if (words(swept) == 0) { set xrange [1:10]; set yrange [1:10] }
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/capacity_achieved.".fmt
    set title "Achieved vs offered rate (the diagonal = keeping up)"
    set ylabel "achieved rate (req/s, log scale)"
    plot for [i=1:words(swept)] file(word(swept,i)) using 1:2 title word(swept,i) lw 2 pt 7 lc rgb col(word(swept,i)), \
         x title "offered" dt 2 lc rgb "#999999"
    set output
    set output rundir."/plots/capacity_p99.".fmt
    set title sprintf("p99 vs offered rate (SLO p99 < %g ms)", slo_ms)
    set ylabel "p99 (ms, log scale)"
    plot for [i=1:words(swept)] file(word(swept,i)) using 1:3 title word(swept,i) lw 2 pt 7 lc rgb col(word(swept,i)), \
         slo_ms title "SLO" dt 2 lc rgb "#cc0000"
    set output
}
