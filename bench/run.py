"""run.py - `make bench`: runs every measurement in one go and writes the table.

    run.py --nntrain ./nntrain --kernels build/bench_kernels [--threads N]
           [--torch-python /usr/bin/python3] [--out bench/results.md]

(a) peak FMA throughput and (b) GFLOP/s of the dense products beside OpenBLAS
come from bench_kernels; (c) end to end, this script runs `nntrain --json
--threads T` on bench/w1.json, bench/w2.json and bench/w1-batch1.json (two
epochs each; the faster epoch counts, so the first epoch's page faults and
thread start-up do not) and bench/torch_mlp.py on the same workloads, at 1
thread and at N (all online processors by default), three times each,
alternating, keeping the best (the machines are shared and noisy), and takes
each run's peak resident memory from wait4().

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
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name, nntrain config, layers for torch_mlp.py, batch, samples torch times (0: an epoch)
WORKLOADS = [
    ("W1 784-128-10, batch 32", "w1.json", "784,128,10", 32, 0),
    ("W2 784-256-128-10, batch 128", "w2.json", "784,256,128,10", 128, 0),
    ("W1 784-128-10, batch 1", "w1-batch1.json", "784,128,10", 1, 10000),
]
LEARNING_RATE = 2.0  # as in the configs
REPEATS = 3  # end-to-end runs per cell, alternating nntrain and PyTorch; the best counts


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
    status, out, err, rss = run_measured([nntrain, "--json", "--threads", str(threads), cfg], env)
    if status != 0:
        note(f"nntrain failed on {cfg} ({status}): {err.strip()}")
        return None, rss
    rates = [json.loads(l)["samples_per_second"] for l in out.splitlines() if l.startswith("{")]
    return (max(rates) if rates else None), rss


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
    for name, cfg, layers, batch, samples in WORKLOADS:
        for t in ([1, nt] if batch > 1 and nt > 1 else [1]):
            note(f"{name}, {t} thread(s) ...")
            r_nn = r_pt = m_nn = m_pt = None
            for _ in range(REPEATS):  # shared machines are noisy: keep the best run
                r, m = nntrain_rate(a.nntrain, os.path.join(HERE, cfg), t, env)
                r_nn = max(r_nn or 0, r or 0) or None
                m_nn = max(m_nn or 0, m or 0) or None
                if have_torch:
                    r, m = torch_rate(a.torch_python, layers, batch, samples, t, env)
                    r_pt = max(r_pt or 0, r or 0) or None
                    m_pt = max(m_pt or 0, m or 0) or None
            results[(cfg, t)] = (r_nn, r_pt, m_nn)
            ratio = r_nn / r_pt if r_nn and r_pt else None
            rows.append(f"| {name} | {t} | {fmt(r_nn)} | {fmt(m_nn, '{:.0f}')} | {fmt(r_pt)} "
                        f"| {fmt(m_pt, '{:.0f}')} | {fmt(ratio, '{:.2f}')} |")

    lines += ["### End to end: training samples per second", "",
              "Sigmoid units, MSE, SGD (learning rate 2.0 in nntrain's convention), "
              "Fashion-MNIST 60,000 training images.",
              f"Best of {REPEATS} runs each, nntrain and PyTorch alternating. "
              "nntrain: `nntrain --json --threads T` on bench/*.json, the faster of 2 epochs. "
              "PyTorch: bench/torch_mlp.py, one timed epoch after a warm-up "
              "(10,000 samples at batch 1). RSS: peak resident memory of the whole process.", "",
              "| workload | threads | nntrain samples/s | nntrain peak RSS MB "
              "| PyTorch samples/s | PyTorch peak RSS MB | nntrain / PyTorch |",
              "|---|---|---|---|---|---|---|"] + rows + [""]

    w2_1, w2_n = results.get(("w2.json", 1)), results.get(("w2.json", nt))
    if nt > 1 and w2_1 and w2_n and w2_1[0] and w2_n[0]:
        lines.append(f"W2 scaling, nntrain {nt} threads / 1 thread: {w2_n[0] / w2_1[0]:.2f}x"
                     + (f"; PyTorch: {w2_n[1] / w2_1[1]:.2f}x." if w2_1[1] and w2_n[1] else "."))
        lines.append("")
    lines.append(f"Total bench time: {time.time() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    note(f"written to {os.path.relpath(a.out)}")


if __name__ == "__main__":
    main()
