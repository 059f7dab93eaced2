# plot_ablation.gp - the ablation's marginal effects: for each optimisation, its effect in
# the final build (leave-one-out) and alone on the baseline (add-one) as bars, their noise
# ranges as error bars (none drawn where the range is unknown or open). Three panels: mean
# and p99 saved at the article's load (ms), capacity gained (req/s); positive = it helps.
# Needs: rundir. Reads rundir/plots/ablation.dat (i name, then per figure: leave-one-out
# effect lo hi, add-one effect lo hi).
load dir."/plot_common.gp"
dat = rundir."/plots/ablation.dat"
set style fill solid 0.6 border -1
set boxwidth 0.35
set xrange [-0.6:4.6]
set xzeroaxis lt -1
set key inside right top
array ytitle[3] = ["mean saved at 167 req/s (ms)", "p99 saved at 167 req/s (ms)", "capacity gained (req/s)"]
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? "set terminal pngcairo size 1000,1000 font 'sans,10' noenhanced" \
                      : "set terminal svg size 1000,1000 font 'sans,10' noenhanced")
    set output rundir."/plots/ablation.".fmt
    set multiplot layout 3,1 title "Marginal effect of each optimisation (positive = it helps), with noise ranges"
    do for [m = 0:2] {
        c = 3 + 6 * m
        set ylabel ytitle[m + 1]
        plot dat using ($1 - 0.18):(column(c)):xtic(2) with boxes lc rgb "#7570b3" title "in the final build (leave-one-out)", \
             dat using ($1 + 0.18):(column(c + 3)) with boxes lc rgb "#1b9e77" title "alone (add-one)", \
             dat using ($1 - 0.18):(column(c)):(column(c + 1)):(column(c + 2)) with yerrorbars lc rgb "#000000" pt 0 notitle, \
             dat using ($1 + 0.18):(column(c + 3)):(column(c + 4)):(column(c + 5)) with yerrorbars lc rgb "#000000" pt 0 notitle
    }
    unset multiplot
    set output
}
