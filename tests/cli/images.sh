# images.sh - writes N small IDX images and their labels, for the tests of
# image options: images.sh N PREFIX writes PREFIX-images.idx (N x 8 x 8
# bytes) and PREFIX-labels.idx (N labels 0..2: a bright bar in the top,
# middle or bottom rows, at a random column, over noise).
n=$1
be32() { printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"; }
{ printf '\000\000\010\003'; be32 "$n"; be32 8; be32 8
  LC_ALL=C awk -v n="$n" 'BEGIN { srand(11)
    for (k = 0; k < n; k++) { c = k % 3; col = int(rand() * 6)
      for (i = 0; i < 8; i++) for (j = 0; j < 8; j++) {
        v = int(rand() * 40); if (int(i / 3) == c && j >= col && j < col + 3) v = 200 + int(rand() * 55)
        printf "%c", v } } }'; } >"$2-images.idx"
{ printf '\000\000\010\001'; be32 "$n"
  LC_ALL=C awk -v n="$n" 'BEGIN { for (k = 0; k < n; k++) printf "%c", k % 3 }'; } >"$2-labels.idx"
