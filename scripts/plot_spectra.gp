# plot_spectra.gp - latency spectra of every build on one chart, HdrHistogram-plotter
# style: x = 1/(1-percentile) on a log scale. Needs: rundir, spectra (space-separated
# build names with rundir/builds/NAME/<hgrm_sub>load.latency.hgrm, HdrHistogram's classic
# text format: Value Percentile TotalCount 1/(1-Percentile), values in ms); optional
# hgrm_sub ("repeat-1/", or "" for an older results folder) and floor_hgrm (the
# generator's own spectrum against nginx at the common rate, drawn as the floor).
load dir."/plot_common.gp"
if (!exists("hgrm_sub")) hgrm_sub = ""
if (!exists("floor_hgrm")) floor_hgrm = ""
set logscale x
set logscale y
set xrange [1:*]
set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000, "99.9999%%" 1000000)
set xlabel "percentile"
set ylabel "latency (ms, log scale)"
set title "Latency by percentile (corrected for coordinated omission)"
set style data lines
# the floor's curve, or nothing (gnuplot 5.4 runs an empty plot iteration once)
floorplot = strlen(floor_hgrm) > 0 ? sprintf(', "%s" using 4:1 title "generator floor" lw 2 dt 2 lc rgb "#555555"', floor_hgrm) : ""
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/spectra.".fmt
    plot for [i=1:words(spectra)] rundir."/builds/".word(spectra,i)."/".hgrm_sub."load.latency.hgrm" \
        using 4:1 title word(spectra,i) lw 2 lc rgb buildcolor[(int(word(spectra,i)[1:2]) - 1) % 6 + 1] \
        @floorplot
    set output
}
