# plot_progression.gp - the six builds' response times (mean and p99, log scale) with the
# article's 2000 ms -> 50 ms marked. Needs: rundir, nbuilds, ymin, ymax (apibench report
# computes them, so that a run with few figures still plots). Reads rundir/plots/progression.dat
# (i build mean p50 p90 p99 max; "?" = not measured).
load dir."/plot_common.gp"
dat = rundir."/plots/progression.dat"
set logscale y
set ylabel "response time (ms, log scale)"
set xlabel "build"
set title "Response time by build at the common offered rate"
xmax = nbuilds - 0.5
set xrange [-0.5:xmax]
set yrange [ymin:ymax]
set arrow 1 from -0.5,2000 to xmax,2000 nohead dt 2 lc rgb "#999999"
set arrow 2 from -0.5,50 to xmax,50 nohead dt 2 lc rgb "#999999"
set label 1 "article before: 2000 ms" at xmax - 0.05,2000 right offset 0,0.7 tc rgb "#666666"
set label 2 "article after: 50 ms" at xmax - 0.05,50 right offset 0,0.7 tc rgb "#666666"
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/progression.".fmt
    plot dat using 1:6:xtic(2) title "p99" lw 2 pt 7 lc rgb "#d95f02", \
         dat using 1:3 title "mean" lw 2 pt 5 lc rgb "#1b9e77", \
         dat using 1:4 title "p50" lw 1 pt 1 dt 3 lc rgb "#7570b3", \
         dat using 1:3:(sprintf("%.4g", $3)) with labels offset 0,-1 textcolor rgb "#1b9e77" notitle
    set output
}
