# plot_lab_board.gp - each student's speed-up over the previous build, per lab (log scale),
# for `apibench lab board`. Needs: boarddir, nstudents. Reads boarddir/board.dat: a header
# "lab <student>...", then one line per lab ("?" where a student has no speed-up).
load dir."/plot_common.gp"
dat = boarddir."/board.dat"
set logscale y
set style data linespoints
set key outside right top autotitle columnheader
set xtics rotate by -30
set ylabel "speed-up over the previous build (×, log scale)"
set title "Lab board: each student's speed-up per lab (1 = no faster than the previous build)"
set offsets 0.3, 0.3, 0, 0
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#777777"
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output boarddir."/board.".fmt
    plot for [i = 2:nstudents + 1] dat using 0:i:xtic(1) lw 2 pt 7
    set output
}
