# plot_timing.gp - where the time goes in each build: the Server-Timing parts (db, cache,
# render, encode; mean ms over the sampled headline responses) as shares of their sum,
# stacked, with the sum in ms above each bar (the builds differ by orders of magnitude, and
# gnuplot cannot stack on a log axis). Needs: rundir. Reads rundir/plots/timing.dat
# (i build db cache render encode).
load dir."/plot_common.gp"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.6
set yrange [0:115]
set ytics 0,20,100
set ylabel "share of server time (%)"
set title "Where the time goes (Server-Timing, sampled headline responses)"
dat = rundir."/plots/timing.dat"
# z(c): column c, 0 when missing; tot: the sum of the four parts; pct(c): c's share
z(c) = (valid(c) ? column(c) : 0)
tot = "z(3) + z(4) + z(5) + z(6)"
pct(c) = (@tot > 0 ? 100.0 * z(c) / (@tot) : 0)
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/timing.".fmt
    plot dat using (pct(3)):xtic(2) title "db" lc rgb "#d95f02", \
         dat using (pct(4)) title "cache" lc rgb "#1b9e77", \
         dat using (pct(5)) title "render" lc rgb "#7570b3", \
         dat using (pct(6)) title "encode" lc rgb "#e6ab02", \
         dat using 1:(106):(valid(3) ? sprintf("%.4g ms", @tot) : "n/a") with labels notitle
    set output
}
