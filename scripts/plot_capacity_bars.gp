# plot_capacity_bars.gp - each build's capacity under the SLO as a bar at its lower bound,
# the bracket [lower, upper] as an error bar, and the load generator's ceilings drawn
# across (a build at the ceiling is limited by the generator, not by itself). Needs:
# rundir, nbuilds, ceiling_identity, ceiling_gzip (0 = not measured). Reads
# rundir/plots/capacity.dat (i build lower upper open).
load dir."/plot_common.gp"
dat = rundir."/plots/capacity.dat"
set logscale y
set xrange [-0.5:nbuilds - 0.5]
# room above the highest bar and both ceilings, so the lines and their labels show
top = (ceiling_identity > ceiling_gzip ? ceiling_identity : ceiling_gzip)
stats dat using 4 nooutput
top = (STATS_max > top ? STATS_max : top)
set yrange [1:(top > 0 ? top * 4 : 10)]
set style fill solid 0.6 border -1
set boxwidth 0.6
set ylabel "capacity under the SLO (req/s, log scale)"
set title "Capacity per build: [lower, upper] bracket (a label with ≥ reached the generator's ceiling)"
if (ceiling_identity > 0) {
    set arrow 1 from -0.5,ceiling_identity to nbuilds - 0.5,ceiling_identity nohead dt 2 lc rgb "#555555"
    set label 1 sprintf("generator ceiling, identity: %g req/s", ceiling_identity) at -0.45,ceiling_identity left offset 0,(ceiling_identity >= ceiling_gzip ? 0.7 : -0.8) tc rgb "#555555"
}
if (ceiling_gzip > 0) {
    set arrow 2 from -0.5,ceiling_gzip to nbuilds - 0.5,ceiling_gzip nohead dt 3 lc rgb "#999999"
    set label 2 sprintf("generator ceiling, gzip: %g req/s", ceiling_gzip) at -0.45,ceiling_gzip left offset 0,(ceiling_gzip > ceiling_identity ? 0.7 : -0.8) tc rgb "#777777"
}
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/capacity.".fmt
    plot dat using 1:($3 > 0 ? $3 : NaN):xtic(2) with boxes title "lower bound" lc rgb "#7570b3", \
         dat using 1:($3 > 0 ? $3 : NaN):3:4 with yerrorbars title "bracket" lc rgb "#000000" pt 0, \
         dat using 1:($3 > 0 ? $3 : NaN):(sprintf($5 > 0 ? "≥ %.0f" : "%.4g", $3)) with labels offset 0,0.8 notitle
    set output
}
