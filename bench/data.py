"""data.py - `make bench-data`: training on data larger than memory.

    data.py --nntrain ./nntrain --gendata build/gendata [--dir DIR]
            [--rows N] [--features F] [--memory MB] [--out bench/results-data.md]

Generates a synthetic classification set (bench/gendata.c: uniform features,
labels from a seeded teacher network, so it is learnable) of N rows as NPY
(by default 16.5 million rows of 64 float32 features: 4.2 GB of samples) and
the same rows as CSV (a prefix of them, at least 4 GB of text), in DIR (by
default a fresh folder under build/), removed afterwards.  Then, with
data.max_memory_mb MB (default 1024, below the data's size):

  - NPY: one epoch streamed over all the rows, beside the same model trained
    in memory on a prefix that fits (2 million rows) and streamed over that
    same prefix: samples/s, and the peak RSS against max_memory_mb + the
    model + 64 MB;
  - CSV: the first run of a streamed CSV source parses it into nntrain's
    binary cache (MB/s at 1 and at 2 threads, from nntrain's note), the
    second reuses the cache; pandas.read_csv parses a 512 MB prefix of the
    same file for the MB/s beside it.

Each timing is one run (the set is too large to repeat cheaply); the
processor, its thread count and the page cache (the files are read back from
memory if they fit in it, as here) are named in the output.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import cpu_model, note, run_measured  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def config(path, train, stream, memory, extra=None):
    cfg = {
        "seed": 1,
        "data": {"train": train, "stream": stream, "max_memory_mb": memory,
                 "validation_fraction": 0},
        "model": {"layers": [{"units": 128, "activation": "relu"}, {"units": 10}]},
        "optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
        "training": {"epochs": 1, "batch_size": 256, "shuffle": True},
    }
    if extra:
        cfg["data"].update(extra)
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def train(nntrain, cfg, threads):
    """(samples/s, wall seconds, peak RSS MB, stderr)"""
    t0 = time.time()
    status, out, err, rss = run_measured(
        [nntrain, "--json", "--threads", str(threads), cfg], dict(os.environ))
    wall = time.time() - t0
    if status != 0:
        note(f"nntrain failed on {cfg} ({status}): {err.strip()}")
        return None, wall, rss, err
    rates = [json.loads(l)["samples_per_second"] for l in out.splitlines()
             if l.startswith('{"epoch"')]
    return (max(rates) if rates else None), wall, rss, err


def parse_note(err):
    """MB/s from nntrain's note on building the CSV cache, if any."""
    for line in err.splitlines():
        if "MB/s" in line and "cache" in line:
            words = line.split()
            for i, w in enumerate(words):
                if w.startswith("MB/s") and i > 0:
                    try:
                        return float(words[i - 1])
                    except ValueError:
                        return None
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nntrain", default="./nntrain")
    ap.add_argument("--gendata", default="build/gendata")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--rows", type=int, default=16_500_000)
    ap.add_argument("--csv-rows", type=int, default=9_000_000)
    ap.add_argument("--subset", type=int, default=2_000_000)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--memory", type=float, default=1024)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=os.path.join(HERE, "results-data.md"))
    a = ap.parse_args()
    nntrain = os.path.abspath(a.nntrain)
    base = a.dir or tempfile.mkdtemp(prefix="bench-data-", dir=os.path.join(ROOT, "build"))
    os.makedirs(base, exist_ok=True)
    lines = []
    try:
        F = a.features
        note(f"generating {a.rows:,} rows x {F} features (NPY) ...")
        subprocess.run([a.gendata, str(a.rows), str(F), "10", "7", "--npy",
                        os.path.join(base, "big")], check=True)
        subprocess.run([a.gendata, str(a.subset), str(F), "10", "7", "--npy",
                        os.path.join(base, "sub")], check=True)
        xbytes = os.path.getsize(os.path.join(base, "big-x.npy"))
        big = {"npy": os.path.join(base, "big-x.npy"), "labels": os.path.join(base, "big-y.npy")}
        sub = {"npy": os.path.join(base, "sub-x.npy"), "labels": os.path.join(base, "sub-y.npy")}
        mem = a.memory
        model_mb = (F * 128 + 128 + 128 * 10 + 10) * 4 * 3 / 1048576.0
        rows = []
        for label, src, stream in [("NPY, all rows, streamed", big, True),
                                   ("NPY, 2M-row prefix, in memory", sub, False),
                                   ("NPY, 2M-row prefix, streamed", sub, True)]:
            for t in sorted({1, a.threads}):
                cfg = config(os.path.join(base, "c.json"), src, stream, mem)
                note(f"{label}, {t} thread(s) ...")
                rate, wall, rss, _ = train(nntrain, cfg, t)
                rows.append((label, t, rate, wall, rss))
        lines += [
            "# nntrain `make bench-data` results", "",
            f"{cpu_model()}, {os.cpu_count()} online processors; "
            f"{time.strftime('%Y-%m-%d')}. Data in {base} (removed afterwards); the files fit "
            "in the page cache, so reads come from memory, not the disk.", "",
            f"Synthetic set: {a.rows:,} rows x {F} float32 features "
            f"({xbytes / 1e9:.2f} GB of samples as NPY), 10 classes from a seeded teacher "
            f"network. Model {F}-128 relu-10 softmax, SGD with momentum, batch 256, one epoch, "
            f"shuffled. data.max_memory_mb {mem:g}.", "",
            "| run | threads | samples/s | wall s | peak RSS MB |", "|---|---|---|---|---|"]
        for label, t, rate, wall, rss in rows:
            lines.append(f"| {label} | {t} | {rate:,.0f} | {wall:.1f} | {rss:,.0f} |"
                         if rate else f"| {label} | {t} | failed | {wall:.1f} | {rss:,.0f} |")
        by = {(r[0], r[1]): r for r in rows}
        lines.append("")
        for t in sorted({1, a.threads}):
            s_all = by.get(("NPY, all rows, streamed", t))
            s_sub = by.get(("NPY, 2M-row prefix, streamed", t))
            m_sub = by.get(("NPY, 2M-row prefix, in memory", t))
            if s_sub and m_sub and s_sub[2] and m_sub[2]:
                lines.append(f"- {t} thread(s): streamed / in memory on the same 2M rows: "
                             f"{s_sub[2] / m_sub[2]:.2f}x; all rows streamed / 2M rows in "
                             f"memory: {s_all[2] / m_sub[2]:.2f}x (target 0.9x).")
            if s_all:
                lines.append(f"- {t} thread(s): peak RSS streaming {xbytes / 1e9:.1f} GB: "
                             f"{s_all[4]:,.0f} MB, against max_memory_mb + model + 64 MB = "
                             f"{mem + model_mb + 64:,.0f} MB "
                             f"({'within' if s_all[4] <= mem + model_mb + 64 else 'ABOVE'}).")
        os.remove(os.path.join(base, "big-x.npy"))
        os.remove(os.path.join(base, "big-y.npy"))

        # --- CSV ---------------------------------------------------------------
        csv = os.path.join(base, "big.csv")
        note(f"generating {a.csv_rows:,} rows as CSV ...")
        subprocess.run([a.gendata, str(a.csv_rows), str(F), "10", "7", "--csv", csv], check=True)
        csv_bytes = os.path.getsize(csv)
        lines += ["", f"CSV: {a.csv_rows:,} rows, {csv_bytes / 1e9:.2f} GB of text.", "",
                  "| run | threads | wall s | parse MB/s (nntrain's note) | samples/s |",
                  "|---|---|---|---|---|"]
        csv_rates = {}
        for t, fresh in [(1, True), (a.threads, True), (a.threads, False)]:
            cache = os.path.join(base, "cache")
            if fresh and os.path.isdir(cache):
                shutil.rmtree(cache)
            os.makedirs(cache, exist_ok=True)
            cfg = config(os.path.join(base, "c.json"), {"path": csv, "header": True}, True, mem,
                         {"cache_dir": cache})
            note(f"CSV, {t} thread(s), {'new cache' if fresh else 'cache reused'} ...")
            rate, wall, rss, err = train(nntrain, cfg, t)
            mbs = parse_note(err)
            if fresh:
                csv_rates[t] = mbs
            label = "first run: parse + epoch" if fresh else "second run: cache + epoch"
            lines.append(f"| {label} | {t} | {wall:.1f} | {mbs if mbs else '-'} | "
                         f"{f'{rate:,.0f}' if rate else 'failed'} |")
        # pandas on a prefix
        prefix = os.path.join(base, "prefix.csv")
        with open(csv, "rb") as fi, open(prefix, "wb") as fo:
            data = fi.read(512 << 20)
            fo.write(data[:data.rfind(b"\n") + 1])
        pbytes = os.path.getsize(prefix)
        note("pandas.read_csv on a 512 MB prefix ...")
        code = ("import pandas, sys, time\n"
                "t = time.time(); pandas.read_csv(sys.argv[1]); print(time.time() - t)\n")
        try:
            out = subprocess.run(["/usr/bin/python3", "-c", code, prefix], check=True,
                                 capture_output=True, text=True).stdout
            pandas_mbs = pbytes / 1e6 / float(out.strip())
            lines.append("")
            lines.append(f"pandas.read_csv (python3-pandas, one thread): {pandas_mbs:.0f} MB/s "
                         f"on a {pbytes / 1e6:.0f} MB prefix.")
            for t, mbs in sorted(csv_rates.items()):
                if mbs:
                    lines.append(f"- nntrain at {t} thread(s): {mbs:.0f} MB/s, "
                                 f"{mbs / pandas_mbs:.1f}x pandas (target 5x at 2 threads).")
        except (subprocess.CalledProcessError, ValueError, FileNotFoundError) as e:
            lines.append(f"pandas.read_csv: not measured ({e})")
    finally:
        if not a.dir:
            shutil.rmtree(base, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    note(f"written to {a.out}")


if __name__ == "__main__":
    main()
