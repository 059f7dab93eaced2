# plot_common.gp - shared look of the reproduction's plots. Loaded by the other plot_*.gp.
# term(fmt, name) selects PNG (pngcairo) or SVG output into rundir/plots/name.fmt.
set datafile missing "?"
set style data linespoints
set grid ytics mytics lc rgb "#dddddd"
set key outside right top
set border 3
set tics nomirror
# one colour per build, in order 01..06
array buildcolor[6] = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
term_png = "set terminal pngcairo size 1000,560 font 'sans,10' noenhanced"
term_svg = "set terminal svg size 1000,560 font 'sans,10' noenhanced"
