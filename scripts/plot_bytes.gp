# plot_bytes.gp - payload bytes per response before (rendered) and after encoding (sent)
# by build. Needs: rundir. Reads rundir/plots/bytes.dat (i build rendered sent).
load dir."/plot_common.gp"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set ylabel "bytes per response (mean over the measured phase)"
set title "Payload per response, before and after encoding"
dat = rundir."/plots/bytes.dat"
do for [fmt in "png svg"] {
    eval(fmt eq "png" ? term_png : term_svg)
    set output rundir."/plots/bytes.".fmt
    plot dat using 3:xtic(2) title "rendered" lc rgb "#7570b3", \
         dat using 4 title "sent" lc rgb "#1b9e77"
    set output
}
