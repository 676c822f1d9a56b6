"""run.py - `make bench`: runs every measurement in one go and writes the table.

    run.py --nntrain ./nntrain --kernels build/bench_kernels
           [--bf16-kernels build/bench_bf16] [--threads N]
           [--torch-python /usr/bin/python3] [--out bench/results.md]
           [--only TEXT ...] [--rounds R] [--no-kernels]

(a) peak FMA throughput and (b) GFLOP/s of the dense products beside OpenBLAS
come from bench_kernels, and the bf16 products beside fp32 with their share of
a vdpbf16ps peak loop from bench_bf16 (where the processor has AVX512-BF16 or
AMX; on AVX2, avx2bf16 beside fp32 avx2 and the FMA peak); (c) end to end, this script runs `nntrain --json
--threads T` on the WORKLOADS below (bench/w1.json, w2.json, w3.json,
w1-batch1.json; two epochs each, the faster epoch counts, so the first
epoch's page faults and thread start-up do not; W3 one epoch, whose start-up
is a negligible share of it) and bench/torch_mlp.py on the same workloads in
fp32 and under autocast to bfloat16, at 1 thread and at N (all online
processors by default), in five rounds (W3: three): in each, nntrain then
PyTorch at each thread count, so a ratio's two sides see the same state of
the machine (whose speed drifts); it reports the best rates and the median of
per-round ratios, nntrain's share of time outside the dense kernels
(--profile), and each run's peak resident memory from wait4().

A quick partial run, to try a change: --only W3 (workloads whose name or
config contains the text; repeatable), --rounds 1, --no-kernels (skips (a)
and (b)), --out /tmp/results.md (so bench/results.md keeps the full run).

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
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The end-to-end rows.  Each is a dict:
#   name       the row's label
#   cfg        nntrain's config in bench/; PyTorch gets the same layers, batch and
#              learning rate, read from it
#   isa        NNTRAIN_ISA for nntrain (default None: the best this processor has)
#   precision  nntrain's training.precision, "fp32" (default) or "bf16" (passed as
#              --set training.precision=bf16); the ratio column compares a row
#              with PyTorch at the same precision (bf16: PyTorch's autocast)
#   epochs     nntrain --epochs (default: the config's); the faster epoch counts
#   torch      PyTorch precisions to run (default both, "fp32" and "bf16")
#   samples    samples PyTorch times (default 0: an epoch)
#   rounds     rounds for this row (default REPEATS)
#   threads    False: 1 thread only (batch 1, forced instruction sets)
WORKLOADS = [
    dict(name="W1 784-128-10, batch 32", cfg="w1.json"),
    dict(name="W2 784-256-128-10, batch 128", cfg="w2.json"),
    # an epoch of W3 takes seconds: one nntrain epoch, 60 PyTorch batches, 3 rounds
    dict(name="W3 784-1024-1024-10, batch 256", cfg="w3.json", epochs=1, samples=15360,
         rounds=3),
    dict(name="W1 784-128-10, batch 1", cfg="w1-batch1.json", samples=10000, threads=False),
    # what a processor without AVX-512 runs; measured only where AVX-512 is the default
    dict(name="W2 784-256-128-10, batch 128, nntrain's AVX2 kernels", cfg="w2.json",
         isa="avx2", torch=("fp32",), threads=False),
    # nntrain in bfloat16 (training.precision, issue 12) beside PyTorch's autocast; each
    # round also runs nntrain in fp32 next to it, for the bf16 / fp32 line under the table
    dict(name="W2 784-256-128-10, batch 128, bf16", cfg="w2.json", precision="bf16",
         torch=("bf16",)),
    dict(name="W3 784-1024-1024-10, batch 256, bf16", cfg="w3.json", precision="bf16",
         epochs=1, samples=15360, rounds=3, torch=("bf16",)),
]
INPUTS = 784  # Fashion-MNIST's pixels: the first layer's width in every config


def workload_shape(cfg_path):
    """(layers for torch_mlp.py, batch, learning rate) from an nntrain config."""
    with open(cfg_path) as f:
        c = json.load(f)
    units = [INPUTS] + [l["units"] for l in c["model"]["layers"]]
    return (",".join(map(str, units)), c["training"]["batch_size"],
            c["optimizer"]["learning_rate"])


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return set(next((l for l in f if l.startswith("flags")), "").split())
    except OSError:
        return set()


def has_avx512():
    return "avx512f" in cpu_flags()


def has_bf16_unit():
    """bf16 kernels meant for speed: AVX512-BF16 or AMX-BF16, or AVX2 and FMA
    on 64-bit x86 (avx2bf16); without them, nntrain's bf16 runs the scalar
    reference, far too slow to time against anything."""
    flags = cpu_flags()
    return bool({"avx512_bf16", "amx_bf16"} & flags) or \
        ({"avx2", "fma"} <= flags and platform.machine() == "x86_64")
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


def nntrain_rate(nntrain, cfg, threads, env, precision="fp32", epochs=None):
    """samples/s of the faster epoch, the share of that epoch's time spent
    outside the dense kernels (--profile), and the peak RSS."""
    cmd = [nntrain, "--json", "--profile", "--threads", str(threads)]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    if precision != "fp32":
        cmd += ["--set", f"training.precision={precision}"]
    status, out, err, rss = run_measured(cmd + [cfg], env)
    if status != 0:
        note(f"nntrain failed on {cfg} ({status}): {err.strip()}")
        return None, None, rss
    # the epoch lines (the last line, {"summary": ...}, has its own fields)
    rates = [json.loads(l)["samples_per_second"] for l in out.splitlines()
             if l.startswith('{"epoch"')]
    shares = [json.loads(l)["outside_kernels_share"] for l in err.splitlines()
              if l.startswith('{"profile_epoch"')]
    if not rates:
        return None, None, rss
    best = max(range(len(rates)), key=lambda i: rates[i])
    return rates[best], (shares[best] if best < len(shares) else None), rss


def torch_rate(py, layers, batch, lr, samples, threads, env, precision="fp32"):
    e = dict(env, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
             MKL_NUM_THREADS=str(threads))
    if threads > 1:
        e["OMP_WAIT_POLICY"] = "PASSIVE"
    cmd = [py, os.path.join(HERE, "torch_mlp.py"), "--data",
           os.path.join(ROOT, "data", "fashion-mnist"), "--layers", layers, "--batch", str(batch),
           "--lr", str(lr), "--threads", str(threads), "--samples", str(samples),
           "--precision", precision]
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
    ap.add_argument("--bf16-kernels", default=os.path.join(ROOT, "build", "bench_bf16"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--torch-python", default="/usr/bin/python3")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--only", action="append", default=[],
                    help="only the workloads whose name or config contains this text")
    ap.add_argument("--rounds", type=int, default=0, help="rounds for every workload")
    ap.add_argument("--no-kernels", action="store_true", help="skip the peak and the products")
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

    if not a.no_kernels:
        note("peak and kernels ...")
        status, out, err, _ = run_measured([a.kernels, str(nt)], env)
        if status != 0:
            note(f"bench_kernels failed ({status}): {err.strip()}")
        lines += [out.rstrip(), ""]
        if has_bf16_unit():
            note("bf16 products ...")
            status, out, err, _ = run_measured([a.bf16_kernels, "1"], env)
            if status != 0:
                note(f"bench_bf16 failed ({status}): {err.strip()}")
            lines += ["### Dense products in bfloat16 (training.precision bf16)", "",
                      out.rstrip(), ""]
        else:
            lines += ["No bf16 kernels but the scalar reference on this processor: the bf16 "
                      "products and the bf16 rows are not measured.", ""]

    have_torch = subprocess.run([a.torch_python, "-c", "import torch"], env=env,
                                capture_output=True).returncode == 0 \
        if os.path.exists(a.torch_python) else False
    if not have_torch:
        note(f"PyTorch is not importable with {a.torch_python}: its columns are skipped "
             "(apt-get install python3-torch)")

    rows = []
    own = []  # lines under the table: nntrain bf16 against its own fp32
    scaling = {}  # cfg: per round (nntrain at nt threads / at 1 thread, PyTorch fp32's)
    for w in WORKLOADS:
        name, cfg, isa = w["name"], w["cfg"], w.get("isa")
        precision, tprecs = w.get("precision", "fp32"), w.get("torch", ("fp32", "bf16"))
        if a.only and not any(o in name or o in cfg for o in a.only):
            continue
        if isa == "avx2" and not has_avx512():
            continue  # the rows above already are the AVX2 (or scalar) kernels
        if precision == "bf16" and not has_bf16_unit():
            note(f"{name}: skipped (only the scalar bf16 kernels on this processor)")
            continue
        cfg_path = os.path.join(HERE, cfg)
        layers, batch, lr = workload_shape(cfg_path)
        threads = [1, nt] if nt > 1 and w.get("threads", True) else [1]
        nn_env = dict(env, NNTRAIN_ISA=isa) if isa else env
        rounds = a.rounds or w.get("rounds", REPEATS)
        # per round: (nntrain rate, share, rss, {precision: (PyTorch rate, rss)})
        runs = {t: [] for t in threads}
        vs_fp32 = {t: [] for t in threads}  # bf16 rows: per round, bf16 / fp32 (nntrain)
        for rep in range(rounds):
            note(f"{name}, round {rep + 1} of {rounds} ...")
            for t in threads:  # adjacent runs see the same state of the machine
                r, share, m = nntrain_rate(a.nntrain, cfg_path, t, nn_env, precision,
                                           w.get("epochs"))
                pt = {p: torch_rate(a.torch_python, layers, batch, lr, w.get("samples", 0), t,
                                    env, p) if have_torch else (None, None) for p in tprecs}
                runs[t].append((r, share, m, pt))
                if precision != "fp32":
                    r32 = nntrain_rate(a.nntrain, cfg_path, t, nn_env, "fp32",
                                       w.get("epochs"))[0]
                    if r and r32:
                        vs_fp32[t].append(r / r32)
            if not isa and precision == "fp32" and len(threads) > 1:
                one, many = runs[1][-1], runs[nt][-1]
                if one[0] and many[0]:
                    p1, pn = one[3].get("fp32", (None,))[0], many[3].get("fp32", (None,))[0]
                    scaling.setdefault(name, []).append(
                        (many[0] / one[0], pn / p1 if p1 and pn else None))
        best = lambda v: max([x for x in v if x], default=None)
        for t in threads:
            col = list(zip(*runs[t]))
            pt_rate = {p: best([r[3][p][0] for r in runs[t]]) for p in tprecs}
            pt_rss = best([r[3][p][1] for r in runs[t] for p in tprecs])
            # the ratio: against PyTorch at the row's precision, round by round
            ratios = [r[0] / r[3][precision][0] for r in runs[t]
                      if precision in r[3] and r[0] and r[3][precision][0]]
            shares = [x for x in col[1] if x is not None]
            ratio = statistics.median(ratios) if ratios else None
            share = statistics.median(shares) if shares else None
            rows.append(f"| {name} | {precision} | {t} | {fmt(best(col[0]))} "
                        f"| {fmt(share and 100 * share, '{:.1f}%')} | {fmt(best(col[2]), '{:.0f}')} "
                        f"| {fmt(pt_rate.get('fp32'))} | {fmt(pt_rate.get('bf16'))} "
                        f"| {fmt(pt_rss, '{:.0f}')} | {fmt(ratio, '{:.2f}')} |")
        if any(vs_fp32.values()):
            own.append(f"{name.split(',')[0].split()[0]} {precision} / fp32 (nntrain, median over "
                       "rounds of adjacent runs): "
                       + ", ".join(f"{statistics.median(v):.2f}x at {t} thread{'s' * (t > 1)}"
                                   for t, v in vs_fp32.items() if v) + ".")

    lines += ["### End to end: training samples per second", "",
              "Sigmoid units, MSE, SGD (learning rate 2.0 in nntrain's convention; W3 0.1, "
              "at which its wide sigmoid layers learn: 0.40 validation accuracy after 2 epochs, "
              "where 2.0 and 0.5 stay at chance), "
              "Fashion-MNIST 60,000 training images.",
              f"{REPEATS} rounds (W3: 3); in each, nntrain and then PyTorch run at each thread "
              "count, so the two sides of a ratio see the same state of the machine. samples/s "
              "and RSS: the best round; nntrain / PyTorch: the median over rounds of the two "
              "runs' ratio, against PyTorch at the row's precision (bf16: autocast). "
              "nntrain: `nntrain --json --profile --threads T` on bench/*.json, the faster of 2 "
              "epochs (W3: 1 epoch); outside kernels: the share of that epoch's time spent "
              "outside the dense kernels (batch gather and conversion, loss, activation passes, "
              "optimizer), median over rounds. PyTorch: bench/torch_mlp.py, one timed epoch "
              "after a warm-up (batch 1: 10,000 samples; W3: 60 batches), in fp32 and with "
              "`torch.autocast(\"cpu\", dtype=torch.bfloat16)` around the forward pass and the "
              "loss (bf16 column). RSS: peak resident memory of the whole process (PyTorch: the "
              "larger of its two runs).", "",
              "| workload | nntrain precision | threads | nntrain samples/s | outside kernels "
              "| nntrain peak RSS MB | PyTorch fp32 samples/s | PyTorch bf16 autocast samples/s "
              "| PyTorch peak RSS MB | nntrain / PyTorch |",
              "|---|---|---|---|---|---|---|---|---|---|"] + rows + [""]

    for name, sc in scaling.items():
        nn_s = statistics.median([x for x, _ in sc])
        pt_s = [y for _, y in sc if y]
        lines.append(f"{name.split(',')[0].split()[0]} scaling, nntrain {nt} threads / 1 thread "
                     f"(median over rounds of adjacent runs): {nn_s:.2f}x"
                     + (f"; PyTorch fp32: {statistics.median(pt_s):.2f}x." if pt_s else "."))
    lines += own
    if scaling or own:
        lines.append("")
    lines.append(f"Total bench time: {time.time() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    note(f"written to {os.path.relpath(a.out)}")


if __name__ == "__main__":
    main()
