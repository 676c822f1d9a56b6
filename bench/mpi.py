#!/usr/bin/python3
"""make bench-mpi: data-parallel training over MPI on this machine, and the
scaling model of docs/scaling.md checked against it.

Measures, for W2 and W3 (bench/w2.json, bench/w3.json; Fashion-MNIST):
  - one process: --threads 2 and 1, training.slices 1 and 2 (the slices' cost);
  - 1 rank x 2 threads, 2 ranks x 1 thread, 4 ranks x 1 thread (on 2 cores:
    oversubscribed) under mpirun, samples/s and the share of the epoch spent
    waiting for the sums across ranks (--profile's communication);
  - the checkpoints of those runs compared byte for byte;
  - the time of one fixed-tree sum across 2 and 4 ranks for vectors of
    several sizes (build/mpi/bench_dist), fitted to alpha + bytes / beta.
Then the model's step time for 2 and 4 ranks beside the measured one, and
its predicted efficiency for N = 2..256 machines at 10, 25 and 100 Gbit/s.
Writes bench/results-mpi.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import cpu_model  # noqa: E402  (bench/run.py, make bench's script)

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

# The networks of the prediction: bandwidth (bytes/s) and per-message latency
# (s), stated assumptions (typical MPI figures, not measured here).
NETWORKS = [("10 Gbit/s Ethernet", 10e9 / 8, 20e-6), ("25 Gbit/s Ethernet", 25e9 / 8, 10e-6),
            ("100 Gbit/s InfiniBand", 100e9 / 8, 2e-6)]
COUNTS = [2, 4, 8, 16, 32, 64, 128, 256]


def run_train(cmd, cwd):
    """(samples/s of the last epoch, communication share, checkpoint bytes)"""
    p = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("bench-mpi: %s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-800:]))
    sps = None
    for line in p.stdout.splitlines():
        if line.startswith("{") and "samples_per_second" in line:
            sps = json.loads(line).get("samples_per_second", sps)
    comm = share = None
    for line in p.stderr.splitlines():
        if line.startswith('{"profile_epoch"'):
            o = json.loads(line)
            comm = o.get("communication_seconds", 0.0)
            share = comm / o["seconds"] if o["seconds"] > 0 else 0.0
    with open(os.path.join(cwd, "run.ckpt"), "rb") as f:
        ckpt = f.read()
    return sps, share, ckpt


def layers_of(config):
    with open(config) as f:
        c = json.load(f)
    units = [784] + [l["units"] for l in c["model"]["layers"]]
    return [(units[i], units[i + 1]) for i in range(len(units) - 1)], c["training"]["batch_size"]


def fit(points):
    """least squares t = a + b * bytes over (bytes, t)"""
    n = len(points)
    sx = sum(x for x, _ in points)
    sy = sum(y for _, y in points)
    sxx = sum(x * x for x, _ in points)
    sxy = sum(x * y for x, y in points)
    b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    a = (sy - b * sx) / n
    return max(a, 0.0), b


def sum_time(N, nbytes, alpha, beta):
    """the tree sum built in src/dist: a reduce-scatter then an all-gather,
    each N - 1 messages of nbytes / N per rank, sent one after another"""
    if N <= 1:
        return 0.0
    return 2 * (N - 1) * (alpha + nbytes / N / beta)


def step_time(N, B, c_fwd, c_bwd, layers, alpha, beta, overlap):
    """one step of N ranks on a global batch of B: the forward and backward
    compute of B/N rows (c_* seconds per row, shared among the layers by
    their weights), then each layer's gradient sum, started as its backward
    ends and sent one after another; with overlap the sums run beside the
    backward of the layers below, without it after the whole backward pass.
    Plus two small sums (the loss and the metrics' gather)."""
    rows = B / N
    w = [i * o + o for i, o in layers]
    total = sum(w)
    bwd_end = c_fwd * rows
    sums = []
    for k in range(len(layers) - 1, -1, -1):  # the backward pass, from the top
        bwd_end += c_bwd * rows * w[k] / total
        sums.append((bwd_end, sum_time(N, 4 * w[k], alpha, beta)))
    if overlap:
        free = 0.0
        for ready, d in sums:
            free = max(free, ready) + d
        end = max(bwd_end, free)
    else:
        end = bwd_end + sum(d for _, d in sums)
    return end + 2 * sum_time(N, 8, alpha, beta)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nntrain", required=True)
    ap.add_argument("--nntrain-mpi", required=True)
    ap.add_argument("--bench-dist", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    nn = os.path.abspath(a.nntrain)
    nnm = os.path.abspath(a.nntrain_mpi)
    # --bind-to none: Open MPI binds each rank to one core by default (with 2
    # ranks or fewer), which would put a rank's threads on one core
    mpirun = ["mpirun", "--oversubscribe", "--bind-to", "none"]
    out = []
    out.append("# make bench-mpi\n")
    out.append("Machine: %s, %d logical CPUs (/proc/cpuinfo); Open MPI over shared memory "
               "(one host).\n" % (cpu_model(), os.cpu_count() or 0))

    # --- the sums alone
    fits = {}
    out.append("## One fixed-tree sum across ranks (build/mpi/bench_dist)\n")
    out.append("| floats | 2 ranks, s | 4 ranks, s |\n|---|---|---|")
    times = {}
    for N in (2, 4):
        p = subprocess.run(mpirun + ["-np", str(N), a.bench_dist, "30"], env=ENV,
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("bench-mpi: bench_dist failed: " + p.stderr[-800:])
        for line in p.stdout.splitlines():
            if line.startswith("#"):
                continue
            n, t = line.split()
            times.setdefault(int(n), {})[N] = float(t)
    for n in sorted(times):
        out.append("| %d | %.6f | %.6f |" % (n, times[n].get(2, 0), times[n].get(4, 0)))
    for N in (2, 4):
        # t = 2 (N-1) (alpha + bytes/N/beta): fit per-message latency and bandwidth
        pts = [(2 * (N - 1) * 4 * n / N, times[n][N]) for n in times if n >= 1000]
        alpha2, inv_beta = fit(pts)
        fits[N] = (max(times[1][N] / (2 * (N - 1)), 1e-7), 1.0 / inv_beta)
    out.append("\nFitted to the model's reduction time 2 (N-1) (alpha + bytes / (N beta)): "
               + ", ".join("%d ranks alpha %.1f us, beta %.2f GB/s" %
                           (N, fits[N][0] * 1e6, fits[N][1] / 1e9) for N in (2, 4))
               + " (alpha from the 1-float sum, beta from the larger ones).\n")

    # --- training
    results = {}
    for net in ("w2", "w3"):
        cfg = os.path.join(here, net + ".json")
        layers, B = layers_of(cfg)
        epochs = "3" if net == "w2" else "1"
        runs = [
            ("1 process x 2 threads, slices 1", [nn, "--threads", "2", "--set",
                                                  "training.slices=1"]),
            ("1 process x 2 threads, slices 2", [nn, "--threads", "2", "--set",
                                                  "training.slices=2"]),
            ("1 process x 1 thread, slices 1", [nn, "--threads", "1", "--set",
                                                 "training.slices=1"]),
            ("1 process x 1 thread, slices 2", [nn, "--threads", "1", "--set",
                                                 "training.slices=2"]),
            ("1 process x 1 thread, slices 4", [nn, "--threads", "1", "--set",
                                                 "training.slices=4"]),
            ("1 rank x 2 threads (mpirun), slices 2", mpirun + ["-np", "1", nnm, "--threads", "2",
                                                                "--set", "training.slices=2"]),
            ("2 ranks x 1 thread, slices 2", mpirun + ["-np", "2", nnm, "--threads", "1", "--set",
                                                       "training.slices=2"]),
            ("4 ranks x 1 thread (2 cores), slices 4", mpirun + ["-np", "4", nnm, "--threads",
                                                                 "1", "--set",
                                                                 "training.slices=4"]),
        ]
        best = {}
        ckpts = {}
        for r in range(a.rounds):  # alternating rounds: this machine's speed drifts
            for name, cmd in runs:
                d = tempfile.mkdtemp(prefix="nntrain-bench-mpi-")
                shutil.copy(cfg, d)
                full = cmd + ["--json", "--profile", "--set", "training.epochs=" + epochs,
                              "--set", "checkpoint.path=run.ckpt",
                              "--set", "data.train.images=" + os.path.join(
                                  here, "..", "data", "fashion-mnist",
                                  "train-images-idx3-ubyte.gz"),
                              "--set", "data.train.labels=" + os.path.join(
                                  here, "..", "data", "fashion-mnist",
                                  "train-labels-idx1-ubyte.gz"),
                              os.path.join(d, net + ".json")]
                sps, share, ck = run_train(full, d)
                shutil.rmtree(d)
                if name not in best or sps > best[name][0]:
                    best[name] = (sps, share)
                ckpts[name] = ck
        results[net] = (best, layers, B)
        out.append("## %s (%s, batch %d): samples/s, the best of %d alternating rounds\n" %
                   (net.upper(), "-".join(str(i) for i, _ in layers) + "-" + str(layers[-1][1]),
                    B, a.rounds))
        out.append("| run | samples/s | vs 1 process x 2 threads, slices 1 | communication share |")
        out.append("|---|---|---|---|")
        ref = best[runs[0][0]][0]
        for name, _ in runs:
            sps, share = best[name]
            out.append("| %s | %.0f | %.2f | %s |" % (name, sps, sps / ref,
                                                       "-" if not share else "%.1f%%" %
                                                       (100 * share)))
        same2 = ckpts[runs[1][0]] == ckpts[runs[5][0]] == ckpts[runs[6][0]] == ckpts[runs[3][0]]
        same4 = ckpts[runs[4][0]] == ckpts[runs[7][0]]
        out.append("\nCheckpoints byte for byte: slices 2 (1 process, 1 rank, 2 ranks) %s; "
                   "slices 4 (1 process, 4 ranks) %s.\n" % ("identical" if same2 else "DIFFER",
                                                            "identical" if same4 else "DIFFER"))

    # --- the model against the measurements
    out.append("## The model against this machine\n")
    out.append("Compute per row from the one-process, one-thread run with the same slices "
               "(forward 1/3, backward 2/3 of it, by their flops); the sums with the fitted "
               "alpha and beta; no overlap (Open MPI has no progress thread here, so a sum "
               "started during the backward pass advances only when waited for). On 2 cores, "
               "4 ranks of 1 thread share 2 cores: their compute takes twice as long.\n")
    out.append("| net | ranks | measured samples/s | model samples/s | measured communication "
               "share | model communication share |")
    out.append("|---|---|---|---|---|---|")
    for net in ("w2", "w3"):
        best, layers, B = results[net]
        for N, base, run, slow in ((2, "1 process x 1 thread, slices 2",
                                    "2 ranks x 1 thread, slices 2", 1.0),
                                   (4, "1 process x 1 thread, slices 4",
                                    "4 ranks x 1 thread (2 cores), slices 4", 2.0)):
            c = 1.0 / best[base][0]
            alpha, beta = fits[N]
            t = step_time(N, B, slow * c / 3, slow * 2 * c / 3, layers, alpha, beta, False)
            comp = slow * c * B / N
            out.append("| %s | %d | %.0f | %.0f | %.1f%% | %.1f%% |" % (
                net.upper(), N, best[run][0], B / t, 100 * (best[run][1] or 0),
                100 * (t - comp) / t))

    # --- predictions
    out.append("\n## Predicted efficiency across machines\n")
    out.append("Each machine like this one (2 cores; compute per row from `1 process x 2 "
               "threads, slices 2`), N machines on one network: efficiency = (step time of one "
               "machine) / (N x step time of N). Latency and bandwidth are assumptions: "
               + "; ".join("%s: alpha %.0f us, beta %.2f GB/s" % (n, al * 1e6, be / 1e9)
                           for n, be, al in NETWORKS)
               + ". With overlap: the sums run beside the backward pass of the layers below "
               "(a progress thread or an MPI with asynchronous progress); without: after it. "
               "B50 is the global batch at which the efficiency falls to 50%.\n")
    big = [(784, 8192), (8192, 8192), (8192, 4096), (4096, 10)]
    big_params = sum(i * o + o for i, o in big)
    flops_rate = None
    w3best = results["w3"][0]
    # the machine's sustained rate from W3 (6 flops per weight per row)
    w3_params = sum(i * o + o for i, o in results["w3"][1])
    flops_rate = w3best["1 process x 2 threads, slices 2"][0] * 6 * w3_params
    nets = [("W2", results["w2"][1], results["w2"][2],
             1.0 / results["w2"][0]["1 process x 2 threads, slices 2"][0]),
            ("W3", results["w3"][1], results["w3"][2],
             1.0 / results["w3"][0]["1 process x 2 threads, slices 2"][0]),
            ("100M (784-8192-8192-4096-10)", big, 1024, 6.0 * big_params / flops_rate)]
    out.append("The 100M-parameter MLP has %d parameters, batch 1024, compute at W3's "
               "sustained %.0f GFLOP/s per machine.\n" % (big_params, flops_rate / 1e9))
    for label, layers, B, c in nets:
        out.append("### %s, global batch %d\n" % (label, B))
        out.append("| network | overlap | " + " | ".join("N=%d" % N for N in COUNTS) + " |")
        out.append("|---|---|" + "---|" * len(COUNTS))
        for name, beta, alpha in NETWORKS:
            for ov in (False, True):
                cells = []
                for N in COUNTS:
                    t1 = c * B
                    tn = step_time(N, B, c / 3, 2 * c / 3, layers, alpha, beta, ov)
                    cells.append("%.0f%%" % (100 * t1 / (N * tn)))
                out.append("| %s | %s | %s |" % (name, "yes" if ov else "no", " | ".join(cells)))
        out.append("\nB50, the global batch for 50% efficiency (no overlap):\n")
        out.append("| network | " + " | ".join("N=%d" % N for N in COUNTS) + " |")
        out.append("|---|" + "---|" * len(COUNTS))
        for name, beta, alpha in NETWORKS:
            cells = []
            for N in COUNTS:
                comm = step_time(N, 0, 0, 0, layers, alpha, beta, False)
                cells.append("%.0f" % (N * comm / c))  # compute B/N * c = comm
            out.append("| %s | %s |" % (name, " | ".join(cells)))
        out.append("")
    text = "\n".join(out) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
