#!/bin/sh
# Writes the small example data sets in data/ (generated here, no outside
# source; dedicated to the public domain, CC0).  The committed files came from
# this script; awk implementations differ in rand(), so a rerun on another
# machine may give other numbers of the same kind.
#   data/fruit.csv  300 fruits: weight_g, length_cm, roundness, redness and a
#                   string label (apple, banana, cherry), header line.
#   data/wave.csv   400 points: x1, x2 and the target y = sin(3 x1) + 0.5 x2
#                   + noise, for regression, header line.
set -eu
cd "$(dirname "$0")/../data"
awk 'BEGIN {
    srand(7);
    print "weight_g,length_cm,roundness,redness,fruit";
    for (i = 0; i < 300; i++) {
        k = i % 3;
        if (k == 0) { w = 150 + 40 * rand(); l = 7 + 2 * rand(); r = 0.8 + 0.15 * rand(); c = 0.5 + 0.5 * rand(); f = "apple" }
        if (k == 1) { w = 110 + 40 * rand(); l = 17 + 5 * rand(); r = 0.2 + 0.15 * rand(); c = 0.1 * rand(); f = "banana" }
        if (k == 2) { w = 5 + 5 * rand(); l = 1.5 + 1 * rand(); r = 0.85 + 0.15 * rand(); c = 0.7 + 0.3 * rand(); f = "cherry" }
        printf "%.1f,%.2f,%.3f,%.3f,%s\n", w, l, r, c, f;
    }
}' >fruit.csv
awk 'BEGIN {
    srand(11);
    print "x1,x2,y";
    for (i = 0; i < 400; i++) {
        x1 = 2 * rand() - 1; x2 = 2 * rand() - 1;
        y = sin(3 * x1) + 0.5 * x2 + 0.05 * (rand() - 0.5);
        printf "%.4f,%.4f,%.4f\n", x1, x2, y;
    }
}' >wave.csv
