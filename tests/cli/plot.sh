#!/bin/sh
# --plot: the learning curves of a checkpoint, the --eval heatmap and
# scatter, the F1 figures of --eval, and the errors.  The SVGs are parsed as
# XML (Python's standard library) and their series checked against the run's
# own per-epoch lines; rsvg-convert (Debian's librsvg2-bin) renders them.
# Usage: sh tests/cli/plot.sh PATH/TO/nntrain
AREA=plot
. "$(dirname "$0")/lib.sh"
FIX=$(cd "$(dirname "$0")/../fixtures/v3" && pwd)
PY=/usr/bin/python3

# check NAME SCRIPT ARGS...: a Python check that prints nothing and exits 0 when it passes
check() {
    name=$1
    shift
    if msg=$("$PY" -c "$@" 2>&1) && [ -z "$msg" ]; then ok; else bad "$name: $msg"; fi
}

# --- a small three-class CSV with string labels (one class named to need escaping) ---
awk 'BEGIN {
    srand(5); print "a,b,label";
    for (i = 0; i < 150; i++) {
        k = i % 3; name = k == 0 ? "red" : k == 1 ? "green & <blue>" : "yellow";
        printf "%.3f,%.3f,%s\n", k + rand() * 1.4, (k == 1) * 2 + rand() * 1.4, name
    }
}' >"$T/three.csv"
cat >"$T/three.json" <<JSON
{"seed": 4,
 "data": {"train": {"path": "three.csv", "label": "label"}, "validation_fraction": 0.3,
          "scale": "standard"},
 "model": {"layers": [{"units": 8, "activation": "relu"}, {"units": 3, "activation": "softmax"}]},
 "loss": "cross_entropy",
 "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": 12, "batch_size": 16},
 "checkpoint": {"path": "three.ckpt"}}
JSON

if run train 0 "$NN" --json "$T/three.json"; then
    grep '^{"epoch"' "$T/out" >"$T/epochs.jsonl"
    ok
fi

# --- the learning curves ------------------------------------------------------------
if run plot 0 "$NN" --plot "$T/three.ckpt"; then
    cp "$T/out" "$T/curves.svg"
    [ -s "$T/err" ] && bad "plot: stderr not empty: $(cat "$T/err")" || ok
    # Each series has one point per epoch, and its y values follow the printed
    # metrics through one linear map (the same one for train and val in a panel);
    # x follows the epoch numbers; the best-epoch marker sits on the epoch of
    # the lowest val_loss, at that loss.
    check "plot series" '
import json, sys, xml.etree.ElementTree as ET
S = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == S + "svg" and root.get("version") == "1.1", root.tag
assert not list(root.iter(S + "script")), "a script"
lines = [json.loads(l) for l in open(sys.argv[2])]
ids = {e.get("id"): e for e in root.iter() if e.get("id")}
def pts(name):
    return [tuple(map(float, p.split(","))) for p in ids[name].get("points").split()]
for panel, metrics in (("loss-panel", ("train_loss", "val_loss")),
                       ("accuracy-panel", ("train_accuracy", "val_accuracy"))):
    assert panel in ids, panel
    got = [pts(m) for m in metrics]
    for g in got:
        assert len(g) == len(lines), (len(g), len(lines))
    xs = [p[0] for p in got[0]]
    dx = [b - a for a, b in zip(xs, xs[1:])]
    assert min(dx) > 0 and max(dx) - min(dx) < 0.05, dx
    want = [l[m] for m in metrics for l in lines]
    ys = [p[1] for g in got for p in g]
    lo, hi = min(range(len(want)), key=want.__getitem__), max(range(len(want)), key=want.__getitem__)
    if want[hi] > want[lo]:
        a = (ys[hi] - ys[lo]) / (want[hi] - want[lo])
        assert a < 0, "y grows downwards in SVG"
        for w, y in zip(want, ys):
            assert abs(ys[lo] + a * (w - want[lo]) - y) < 0.05, (w, y)
vl = [l["val_loss"] for l in lines]
best = vl.index(min(vl))
c = ids["best-epoch"]
x, y = pts("val_loss")[best]
assert abs(float(c.get("cx")) - x) < 0.02 and abs(float(c.get("cy")) - y) < 0.02, (c.attrib, x, y)
texts = [t.text for t in root.iter(S + "text")]
assert "best epoch %d" % (best + 1) in texts, texts
assert "training" in texts and "validation" in texts and "epoch" in texts and "loss" in texts
' "$T/curves.svg" "$T/epochs.jsonl"
    # tick labels: round values (1, 2 or 5 times a power of ten) equally spaced
    check "plot ticks" '
import sys, xml.etree.ElementTree as ET
from decimal import Decimal
S = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
n = 0
for g in root.iter(S + "g"):
    if g.get("class") in ("xticks", "yticks"):
        v = [Decimal(t.text) for t in g.iter(S + "text")]
        assert len(v) >= 3, v
        steps = {b - a for a, b in zip(v, v[1:])}
        assert len(steps) == 1, v
        s = steps.pop().normalize()
        assert s > 0 and s.as_tuple().digits in ((1,), (2,), (5,)), s
        n += 1
assert n == 4, n
' "$T/curves.svg"
fi

# the same bytes under a comma-decimal locale (the one `make` builds into
# build/locale, or an installed one)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ -d "$ROOT/build/locale/de_DE.UTF-8" ] && export LOCPATH="$ROOT/build/locale"
de=
for loc in de_DE.UTF-8 de_DE.utf8 de_DE; do
    if LC_ALL=$loc locale -k decimal_point 2>/dev/null | grep -q '","'; then de=$loc; break; fi
done
if [ -n "$de" ]; then
    LC_ALL=$de "$NN" --plot "$T/three.ckpt" >"$T/curves-de.svg" 2>/dev/null
    LC_ALL=$de "$NN" --eval --checkpoint "$T/three.ckpt" --data "$T/three.csv" >"$T/eval-de.txt" 2>/dev/null
    "$NN" --eval --checkpoint "$T/three.ckpt" --data "$T/three.csv" >"$T/eval-c.txt" 2>/dev/null
    cmp -s "$T/curves.svg" "$T/curves-de.svg" && cmp -s "$T/eval-c.txt" "$T/eval-de.txt" && ok ||
        bad "plot or eval under $de differs from LC_ALL=C"
else
    echo "plot: no comma-decimal locale (make build/locale/de_DE.UTF-8): locale not checked"
fi

# resumed at 5 to 12: the same history, so the same picture
# (in a folder of its own: the checkpoint path is part of the stored config)
mkdir "$T/r" && cp "$T/three.json" "$T/three.csv" "$T/r/"
if run plot-train5 0 "$NN" --quiet --epochs 5 "$T/r/three.json" &&
   run plot-resume 0 "$NN" --quiet --resume "$T/r/three.json"; then
    cmp -s "$T/r/three.ckpt" "$T/three.ckpt" && ok || bad "plot: resumed checkpoint differs"
    (cd "$T" && "$NN" --plot three.ckpt >"$T/a.svg" && cd r && "$NN" --plot three.ckpt >"$T/b.svg") &&
        cmp -s "$T/a.svg" "$T/b.svg" && ok || bad "plot: resumed run draws differently"
fi

# --- errors -------------------------------------------------------------------------
if run plot-v3 1 "$NN" --plot "$FIX/fruit-e3.ckpt"; then
    err_is plot-v3 "nntrain: $FIX/fruit-e3.ckpt: no history of metrics to plot (a format-3 checkpoint, from nntrain 0.1.0, keeps none)"
    out_empty plot-v3
fi
if run plot-missing 1 "$NN" --plot "$T/none.ckpt"; then
    err_is plot-missing "nntrain: $T/none.ckpt: No such file or directory"
    out_empty plot-missing
fi
if run plot-extra 2 "$NN" --plot "$T/three.ckpt" "$T/three.json"; then
    [ "$(head -n1 "$T/err")" = "nntrain: --plot takes one checkpoint file and nothing else (or goes with --eval, naming the SVG file to write)" ] && ok || bad "plot-extra: $(cat "$T/err")"
fi
if run plot-empty 2 "$NN" --plot=; then
    [ "$(head -n1 "$T/err")" = "nntrain: option '--plot' needs a non-empty value" ] && ok || bad "plot-empty: $(cat "$T/err")"
fi
# a folder that cannot be written: exit 1, no report, nothing left behind
mkdir "$T/ro" && chmod 500 "$T/ro"
if [ "$(id -u)" -ne 0 ] && run eval-plot-ro 1 "$NN" --eval --checkpoint "$T/three.ckpt" --data "$T/three.csv" --plot "$T/ro/cm.svg"; then
    err_is eval-plot-ro "nntrain: $T/ro/cm.svg: Permission denied"
    out_empty eval-plot-ro
fi
if run eval-plot-nodir 1 "$NN" --eval --checkpoint "$T/three.ckpt" --data "$T/three.csv" --plot "$T/nodir/cm.svg"; then
    err_is eval-plot-nodir "nntrain: $T/nodir/cm.svg: No such file or directory"
    out_empty eval-plot-nodir
fi

# --- --eval: F1 and the heatmap -------------------------------------------------------
if run eval-plot 0 "$NN" --eval --json --checkpoint "$T/three.ckpt" --data "$T/three.csv" --plot "$T/cm.svg"; then
    cp "$T/out" "$T/eval.json"
    ls "$T" | grep -q '\.tmp\.' && bad "eval-plot: a temporary file is left" || ok
    # F1 per class from the confusion matrix by hand, and their mean
    check "eval f1" '
import json, sys
r = json.load(open(sys.argv[1]))
cm = r["confusion"]
K = len(cm)
f1s = []
for c, e in enumerate(r["classes"]):
    tp = cm[c][c]; fp = sum(cm[k][c] for k in range(K)) - tp; fn = sum(cm[c]) - tp
    want = 2 * tp / (2 * tp + fp + fn)
    assert abs(e["f1"] - want) < 1e-5, (e, want)
    f1s.append(want)
assert abs(r["macro_f1"] - sum(f1s) / K) < 1e-5, r["macro_f1"]
' "$T/eval.json"
    check "eval heatmap" '
import json, sys, xml.etree.ElementTree as ET
S = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
r = json.load(open(sys.argv[2]))
names = [c["class"] for c in r["classes"]]
K = len(names)
cells = [g for g in root.iter(S + "g") if g.get("class") == "cell"]
assert len(cells) == K * K, len(cells)
for g in cells:
    i, j = map(int, g.get("id").split("-")[1:])
    count = int(g.find(S + "text").text)
    assert count == r["confusion"][i][j], (i, j, count)
    assert g.find(S + "title").text == "true %s, predicted %s: %d" % (names[i], names[j], count)
labels = [t.text for t in root.iter(S + "text") if t.get("class") == "class"]
assert labels == names + names, labels
assert "green & <blue>" in names
texts = [t.text for t in root.iter(S + "text")]
assert "predicted class" in texts and "true class" in texts and "count" in texts, texts
assert any(e.get("id") == "colour-scale" for e in root.iter(S + "g"))
' "$T/cm.svg" "$T/eval.json"
fi
if run eval-text 0 "$NN" --eval --checkpoint "$T/three.ckpt" --data "$T/three.csv"; then
    grep -q '^macro f1  [01]\.[0-9]\{4\}$' "$T/out" && grep -q '^class  *precision  recall  support  f1$' "$T/out" &&
        ok || bad "eval-text: $(head -c 400 "$T/out")"
fi

# a class never present nor predicted: "-" and null, left out of the mean
awk -F, 'NR == 1 || $3 != "yellow"' "$T/three.csv" >"$T/two.csv"
if run eval-absent 0 "$NN" --eval --json --checkpoint "$T/three.ckpt" --data "$T/two.csv"; then
    check "eval absent class" '
import json, sys
r = json.load(open(sys.argv[1]))
cm = r["confusion"]
yellow = [c["class"] for c in r["classes"]].index("yellow")
if sum(cm[k][yellow] for k in range(3)) == 0:
    assert r["classes"][yellow]["f1"] is None, r
    f = [c["f1"] for c in r["classes"] if c["f1"] is not None]
    assert abs(r["macro_f1"] - sum(f) / len(f)) < 1e-5, r
' "$T/out"
fi

# --- regression: the scatter ------------------------------------------------------------
cp "$FIX/wave.csv" "$T/wave.csv"
sed 's/"epochs": 100000/"epochs": 6/' "$FIX/wave.json" >"$T/wave.json"
if run train-wave 0 "$NN" --quiet --checkpoint "$T/wave.ckpt" "$T/wave.json" &&
   run eval-scatter 0 "$NN" --eval --json --checkpoint "$T/wave.ckpt" --data "$T/wave.csv" --plot "$T/scatter.svg"; then
    cp "$T/out" "$T/wave.json.out"
    check "scatter" '
import json, sys, xml.etree.ElementTree as ET
S = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
r = json.load(open(sys.argv[2]))
pts = [c for c in root.iter(S + "circle") if c.get("class") == "point"]
assert len(pts) == r["samples"], (len(pts), r["samples"])
ids = {e.get("id"): e for e in root.iter() if e.get("id")}
l = ids["identity"]
x1, y1, x2, y2 = (float(l.get(k)) for k in ("x1", "y1", "x2", "y2"))
assert x2 > x1 and y2 < y1 and abs((x2 - x1) - (y1 - y2)) < 0.02, l.attrib
texts = [t.text for t in root.iter(S + "text")]
assert "true value" in texts and "predicted value" in texts and "y = x" in texts
' "$T/scatter.svg" "$T/wave.json.out"
    "$NN" --plot "$T/wave.ckpt" >"$T/wave-curves.svg" 2>"$T/err" && ok || bad "plot wave: $(cat "$T/err")"
    check "regression curves" '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ids = {e.get("id"): e for e in root.iter() if e.get("id")}
assert "r2-panel" in ids or "mae-panel" in ids, sorted(ids)
assert len(ids["train_loss"].get("points").split()) == 6
' "$T/wave-curves.svg"
fi

# --- rendering -----------------------------------------------------------------------------
# rsvg-convert must accept each document, and the PNG must have the declared
# size and show the drawing: besides the white background, dark pixels (text,
# axes) and the series' colours (blue training curve / heatmap cells).
if command -v rsvg-convert >/dev/null 2>&1; then
    for f in curves cm scatter; do
        [ -s "$T/$f.svg" ] || continue
        if rsvg-convert -o "$T/$f.png" "$T/$f.svg" 2>"$T/err"; then
            check "render $f" '
import re, struct, sys, zlib, xml.etree.ElementTree as ET
svg = ET.parse(sys.argv[1]).getroot()
png = open(sys.argv[2], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n"
w, h, depth, ctype = struct.unpack(">IIBB", png[16:26])
assert (w, h) == (int(float(svg.get("width"))), int(float(svg.get("height")))), (w, h)
assert depth == 8 and ctype in (2, 6), (depth, ctype)
data, pos = b"", 8
while pos < len(png):
    n, = struct.unpack(">I", png[pos:pos + 4]); kind = png[pos + 4:pos + 8]
    if kind == b"IDAT": data += png[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(data)
bpp = 4 if ctype == 6 else 3
stride = w * bpp
rows, prev = [], bytearray(stride)
for y in range(h):
    f = raw[y * (stride + 1)]; line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
px = [r[i:i + 3] for r in rows for i in range(0, stride, bpp)]
white = sum(1 for p in px if min(p) > 245)
dark = sum(1 for p in px if max(p) < 90)
blue = sum(1 for p in px if p[2] > p[0] + 60)
assert white > 0.5 * len(px), "background not white"
assert dark > 200, "no text or axes drawn: %d dark pixels" % dark
assert blue > 100, "no series drawn: %d blue pixels" % blue
' "$T/$f.svg" "$T/$f.png"
        else
            bad "render $f: rsvg-convert failed: $(head -c 300 "$T/err")"
        fi
    done
else
    echo "plot: rsvg-convert not found (Debian package librsvg2-bin): rendering not checked"
fi

echo "plot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
