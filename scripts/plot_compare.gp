# plot_compare.gp - two runs at 167 req/s in one chart (mean and p99 per build, log
# scale). Needs: outdir, name_a, name_b, nbuilds. Reads outdir/plots/compare_progression.dat
# (i build meanA p99A meanB p99B).
load dir."/plot_common.gp"
dat = outdir."/plots/compare_progression.dat"
set logscale y
set xrange [-0.5:nbuilds - 0.5]
set ylabel "response time (ms, log scale)"
set title "Response time by build at 167 req/s: ".name_a." (A) vs ".name_b." (B)"
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output outdir."/plots/compare_progression.".fmt
    plot dat using 1:4:xtic(2) title "A p99" lw 2 pt 7 lc rgb "#d95f02", \
         dat using 1:3 title "A mean" lw 2 pt 5 lc rgb "#1b9e77", \
         dat using 1:6 title "B p99" lw 2 pt 7 dt 2 lc rgb "#d95f02", \
         dat using 1:5 title "B mean" lw 2 pt 5 dt 2 lc rgb "#1b9e77"
    set output
}
