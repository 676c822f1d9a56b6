"""run.py - `make bench`: runs every measurement in one go and writes the table.

    run.py --nntrain ./nntrain --kernels build/bench_kernels [--threads N]
           [--torch-python /usr/bin/python3] [--out bench/results.md]

(a) peak FMA throughput and (b) GFLOP/s of the dense products beside OpenBLAS
come from bench_kernels; (c) end to end, this script runs `nntrain --json
--threads T` on bench/w1.json, bench/w2.json and bench/w1-batch1.json (two
epochs each; the faster epoch counts, so the first epoch's page faults and
thread start-up do not) and bench/torch_mlp.py on the same workloads, at 1
thread and at N (all online processors by default), in five rounds: in each,
nntrain then PyTorch at each thread count, so a ratio's two sides see the same
state of the machine (whose speed drifts); it reports the best rates and the
median of per-round ratios, nntrain's share of time outside the dense kernels
(--profile), and each run's peak resident memory from wait4().

Fairness: OpenBLAS (which PyTorch uses here too) picks its kernels by
processor model and may not know this one; when the model it picks is
weaker than the processor's vector unit, OPENBLAS_CORETYPE is set for every
run (bench_kernels and PyTorch), and the table says so.  PyTorch runs with
OMP_NUM_THREADS and OPENBLAS_NUM_THREADS bound to T (torch.set_num_threads
alone does not bound OpenBLAS's pool) and OMP_WAIT_POLICY=PASSIVE when T > 1
(spinning pools on 2 cores made it several times slower).
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name, nntrain config, layers for torch_mlp.py, batch, samples torch times (0: an epoch),
# NNTRAIN_ISA for nntrain (None: the best this processor has)
WORKLOADS = [
    ("W1 784-128-10, batch 32", "w1.json", "784,128,10", 32, 0, None),
    ("W2 784-256-128-10, batch 128", "w2.json", "784,256,128,10", 128, 0, None),
    ("W1 784-128-10, batch 1", "w1-batch1.json", "784,128,10", 1, 10000, None),
    # what a processor without AVX-512 runs; measured only where AVX-512 is the default
    ("W2 784-256-128-10, batch 128, nntrain's AVX2 kernels", "w2.json", "784,256,128,10", 128, 0,
     "avx2"),
]


def has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512f" in f.read()
    except OSError:
        return False
LEARNING_RATE = 2.0  # as in the configs
REPEATS = 5  # end-to-end rounds per workload: nntrain and PyTorch at each thread count


def note(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run_measured(cmd, env):
    """Runs cmd; returns (exit status, stdout, stderr, peak RSS in MB).  The
    child is reaped with wait4, which gives that child's own peak RSS."""
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(fo.fileno(), 1)
                os.dup2(fe.fileno(), 2)
                os.execvpe(cmd[0], cmd, env)
            finally:
                os._exit(127)
        _, status, ru = os.wait4(pid, 0)
        fo.seek(0)
        fe.seek(0)
        return os.waitstatus_to_exitcode(status), fo.read(), fe.read(), ru.ru_maxrss / 1024.0


def openblas_coretype(env):
    """OPENBLAS_CORETYPE to force, with a note, or (None, note)."""
    if env.get("OPENBLAS_CORETYPE"):
        return None, f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']} (set by the caller)"
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None, "OpenBLAS not loadable"
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "")
    except OSError:
        pass
    flags = set(flags.split())
    avx512 = {"skylakex", "cooperlake", "sapphirerapids"}
    avx2 = avx512 | {"haswell", "zen"}
    want = None
    if "avx512f" in flags and core.lower() not in avx512:
        want = "SkylakeX"
    elif "avx2" in flags and core.lower() not in avx2:
        want = "Haswell"
    if want:
        return want, (f"OpenBLAS 'detected' this processor as {core}; OPENBLAS_CORETYPE={want} "
                      f"is set for OpenBLAS and PyTorch so they use their best kernels here")
    return None, f"OpenBLAS kernels: {core}"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown processor"


def nntrain_rate(nntrain, cfg, threads, env):
    """samples/s of the faster epoch, the share of that epoch's time spent
    outside the dense kernels (--profile), and the peak RSS."""
    status, out, err, rss = run_measured(
        [nntrain, "--json", "--profile", "--threads", str(threads), cfg], env)
    if status != 0:
        note(f"nntrain failed on {cfg} ({status}): {err.strip()}")
        return None, None, rss
    rates = [json.loads(l)["samples_per_second"] for l in out.splitlines() if l.startswith("{")]
    shares = [json.loads(l)["outside_kernels_share"] for l in err.splitlines()
              if l.startswith('{"profile_epoch"')]
    if not rates:
        return None, None, rss
    best = max(range(len(rates)), key=lambda i: rates[i])
    return rates[best], (shares[best] if best < len(shares) else None), rss


def torch_rate(py, layers, batch, samples, threads, env):
    e = dict(env, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
             MKL_NUM_THREADS=str(threads))
    if threads > 1:
        e["OMP_WAIT_POLICY"] = "PASSIVE"
    cmd = [py, os.path.join(HERE, "torch_mlp.py"), "--data",
           os.path.join(ROOT, "data", "fashion-mnist"), "--layers", layers, "--batch", str(batch),
           "--lr", str(LEARNING_RATE), "--threads", str(threads), "--samples", str(samples)]
    status, out, err, rss = run_measured(cmd, e)
    if status != 0:
        note(f"PyTorch run failed ({status}): {err.strip()[-300:]}")
        return None, rss
    return json.loads(out.strip().splitlines()[-1])["samples_per_second"], rss


def fmt(x, spec="{:,.0f}"):
    return "-" if x is None else spec.format(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nntrain", default=os.path.join(ROOT, "nntrain"))
    ap.add_argument("--kernels", default=os.path.join(ROOT, "build", "bench_kernels"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--torch-python", default="/usr/bin/python3")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    a = ap.parse_args()
    started = time.time()
    nt = max(1, a.threads)
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    forced, blas_note = openblas_coretype(env)
    if forced:
        env["OPENBLAS_CORETYPE"] = forced

    load = os.getloadavg()[0]
    lines = ["# nntrain `make bench` results", "",
             f"{cpu_model()}, {os.cpu_count()} online processors; {time.strftime('%Y-%m-%d')}.",
             f"{blas_note}.",
             f"Load average (1 min) when the bench started: {load:.2f}"
             + (" - other processes were using the processors, so wall-clock figures "
                "(several threads, end to end) are lower and noisier than on an idle machine."
                if load > 0.5 else "."), ""]

    note("peak and kernels ...")
    status, out, err, _ = run_measured([a.kernels, str(nt)], env)
    if status != 0:
        note(f"bench_kernels failed ({status}): {err.strip()}")
    lines += [out.rstrip(), ""]

    have_torch = subprocess.run([a.torch_python, "-c", "import torch"], env=env,
                                capture_output=True).returncode == 0 \
        if os.path.exists(a.torch_python) else False
    if not have_torch:
        note(f"PyTorch is not importable with {a.torch_python}: its columns are skipped "
             "(apt-get install python3-torch)")

    rows, results = [], {}
    scaling = []  # per round: nntrain W2 at nt threads / at 1 thread, and PyTorch's
    for name, cfg, layers, batch, samples, isa in WORKLOADS:
        if isa == "avx2" and not has_avx512():
            continue  # the rows above already are the AVX2 (or scalar) kernels
        threads = [1, nt] if batch > 1 and nt > 1 and not isa else [1]
        nn_env = dict(env, NNTRAIN_ISA=isa) if isa else env
        runs = {t: [] for t in threads}  # per round: (nntrain rate, share, rss, torch rate, rss)
        for rep in range(REPEATS):
            note(f"{name}, round {rep + 1} of {REPEATS} ...")
            for t in threads:  # adjacent runs see the same state of the machine
                r, share, m = nntrain_rate(a.nntrain, os.path.join(HERE, cfg), t, nn_env)
                rt, mt = (torch_rate(a.torch_python, layers, batch, samples, t, env)
                          if have_torch else (None, None))
                runs[t].append((r, share, m, rt, mt))
            if cfg == "w2.json" and not isa and nt > 1 and runs[1][-1][0] and runs[nt][-1][0]:
                pt = (runs[nt][-1][3] / runs[1][-1][3]
                      if runs[1][-1][3] and runs[nt][-1][3] else None)
                scaling.append((runs[nt][-1][0] / runs[1][-1][0], pt))
        for t in threads:
            col = list(zip(*runs[t]))
            best = lambda v: max([x for x in v if x], default=None)
            r_nn, m_nn, r_pt, m_pt = best(col[0]), best(col[2]), best(col[3]), best(col[4])
            ratios = [x / y for x, y in zip(col[0], col[3]) if x and y]
            shares = [x for x in col[1] if x is not None]
            ratio = statistics.median(ratios) if ratios else None
            share = statistics.median(shares) if shares else None
            results[(cfg, isa, t)] = (r_nn, r_pt, ratio)
            rows.append(f"| {name} | {t} | {fmt(r_nn)} | {fmt(share and 100 * share, '{:.1f}%')} "
                        f"| {fmt(m_nn, '{:.0f}')} | {fmt(r_pt)} | {fmt(m_pt, '{:.0f}')} "
                        f"| {fmt(ratio, '{:.2f}')} |")

    lines += ["### End to end: training samples per second", "",
              "Sigmoid units, MSE, SGD (learning rate 2.0 in nntrain's convention), "
              "Fashion-MNIST 60,000 training images.",
              f"{REPEATS} rounds; in each, nntrain and then PyTorch run at each thread count, so "
              "the two sides of a ratio see the same state of the machine. samples/s and RSS: the "
              "best round; nntrain / PyTorch: the median over rounds of the two runs' ratio. "
              "nntrain: `nntrain --json --profile --threads T` on bench/*.json, the faster of 2 "
              "epochs; outside kernels: the share of that epoch's time spent outside the dense "
              "kernels (batch gather and conversion, loss, activation passes, optimizer), median "
              "over rounds. PyTorch: bench/torch_mlp.py, one timed epoch after a warm-up "
              "(10,000 samples at batch 1). RSS: peak resident memory of the whole process.", "",
              "| workload | threads | nntrain samples/s | outside kernels | nntrain peak RSS MB "
              "| PyTorch samples/s | PyTorch peak RSS MB | nntrain / PyTorch |",
              "|---|---|---|---|---|---|---|---|"] + rows + [""]

    if scaling:
        nn_s = statistics.median([x for x, _ in scaling])
        pt_s = [y for _, y in scaling if y]
        lines.append(f"W2 scaling, nntrain {nt} threads / 1 thread (median over rounds of "
                     f"adjacent runs): {nn_s:.2f}x"
                     + (f"; PyTorch: {statistics.median(pt_s):.2f}x." if pt_s else "."))
        lines.append("")
    lines.append(f"Total bench time: {time.time() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    note(f"written to {os.path.relpath(a.out)}")


if __name__ == "__main__":
    main()
