# SPDX-License-Identifier: MIT
# Plots of the harness results; run in the results directory
# (scripts/bench.sh does): gnuplot ../plot.gp
set terminal pngcairo size 1600,760 font "sans,10" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set xtics rotate by -50 left nomirror font ",9"
set bmargin 13
set rmargin 10

set output "bench-latency.png"
set title "One-way latency, producer on CPU 0, consumer on CPU 1 (log scale; lower is better)"
set ylabel "microseconds"
set logscale y
set yrange [0.01:*]
plot "latency.dat" using 2:xtic(1) title "median" lc rgb "#2a6fb0", \
     "" using 3 title "p99" lc rgb "#e0a030"

set output "bench-throughput.png"
set title "Throughput, every byte written by the producer and read by the consumer (rw = write-all/read-all; higher is better)"
set ylabel "GB/s (1e9 B/s)"
unset logscale y
set yrange [0:*]
plot "throughput.dat" using 3:xtic(1) title "at the median frame interval" lc rgb "#2a6fb0", \
     "" using 2 title "wall time (includes time slices lost to other processes)" lc rgb "#e0a030"
