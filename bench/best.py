#!/usr/bin/python3
"""make bench-best: configs/fashion-mnist-best.json on Fashion-MNIST's test
set, with every kernel family this machine has, and what each of its
ingredients adds.

Runs, each in a fresh folder, `nntrain --threads 2` on the config (the
wall time of the whole run, data loading included, against the budget of
5 minutes on 2 cores), then `nntrain --eval --json` on the trained
checkpoint (its moving average of the weights, as --predict would use):
  - with NNTRAIN_ISA=avx512 and avx2 (the fp32 kernel sets), and with
    training.precision bf16 and NNTRAIN_ISA=amx, avx512bf16 and avx2bf16
    (the bf16 kernel sets), each where this machine has its instructions;
  - on the best fp32 family, the config with one ingredient taken out:
    image augmentation, label smoothing, the moving average, batch
    normalization, then the wide layers (512 and 256 units).
Writes bench/results-best.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import cpu_model  # noqa: E402  (bench/run.py, make bench's script)

BUDGET = 300.0


def cpu_flags():
    """The instruction-set flags of /proc/cpuinfo (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def run_best(nntrain, config, env_isa, sets):
    """(test accuracy, seconds of training) of one run."""
    with tempfile.TemporaryDirectory(prefix="nntrain-best-") as d:
        with open(config) as f:
            c = json.load(f)
        base = os.path.dirname(os.path.abspath(config))
        for part in ("train", "test"):
            for k in ("images", "labels"):
                c["data"][part][k] = os.path.normpath(os.path.join(base, c["data"][part][k]))
        c["checkpoint"]["path"] = "best.ckpt"
        cfg = os.path.join(d, "c.json")
        with open(cfg, "w") as f:
            json.dump(c, f)
        env = dict(os.environ)
        if env_isa:
            env["NNTRAIN_ISA"] = env_isa
        args = []
        for s in sets:
            args += ["--set", s]
        t0 = time.time()
        p = subprocess.run([nntrain, "-q", "--threads", "2"] + args + [cfg], cwd=d, env=env,
                           capture_output=True, text=True)
        secs = time.time() - t0
        if p.returncode != 0:
            sys.exit("bench-best: training failed (%d): %s" % (p.returncode, p.stderr[-600:]))
        p = subprocess.run([nntrain, "--eval", "--json"] + args + [cfg], cwd=d, env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("bench-best: --eval failed (%d): %s" % (p.returncode, p.stderr[-600:]))
        acc = None
        for line in p.stdout.splitlines():
            if line.startswith("{") and '"accuracy"' in line:
                acc = json.loads(line)["accuracy"]
        return acc, secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nntrain", required=True)
    ap.add_argument("--config", default="configs/fashion-mnist-best.json")
    ap.add_argument("--out", default="bench/results-best.md")
    ap.add_argument("--quick", action="store_true", help="the kernel families only")
    ap.add_argument("--isa", default="",
                    help="comma-separated NNTRAIN_ISA names: run only these kernel families")
    ap.add_argument("--ablation-only", action="store_true",
                    help="the ablation runs only (with --ablate-epochs, \"everything\" among them)")
    ap.add_argument("--ablate-epochs", type=int, default=0,
                    help="train the ablation runs (the whole config among them) for this many "
                         "epochs instead of the config's (default: the config's)")
    a = ap.parse_args()
    a.nntrain = os.path.abspath(a.nntrain)
    flags = cpu_flags()
    avx2 = "avx2" in flags and "fma" in flags
    bf16 = ["training.precision=bf16"]
    families = [("fp32, AVX-512", "avx512", [], "avx512f" in flags),
                ("fp32, AVX2", "avx2", [], avx2),
                ("bf16, AMX", "amx", bf16, "amx_bf16" in flags),
                ("bf16, AVX512-BF16", "avx512bf16", bf16, "avx512_bf16" in flags),
                ("bf16, AVX2 (avx2bf16)", "avx2bf16", bf16, avx2)]
    if a.isa:
        wanted = a.isa.split(",")
        families = [f for f in families if f[1] in wanted]
    rows = []
    missing = [name for name, _, _, have in families if not have]
    families = [(name, isa, sets) for name, isa, sets, have in families if have]
    if not families:
        sys.exit("bench-best: this machine has neither AVX2 nor AVX-512 kernels")
    # The ablation runs on the best family this machine has (fp32 unless --isa
    # leaves only bf16 ones).
    best_isa = families[0][1]
    for name, isa, sets in ([] if a.ablation_only else families):
        acc, secs = run_best(a.nntrain, a.config, isa, sets)
        print("%-28s accuracy %.4f  %.0f s" % (name, acc, secs), flush=True)
        rows.append((name, acc, secs))
    abl = []
    if not a.quick:
        with open(a.config) as f:
            c = json.load(f)
        n_hidden = len(c["model"]["layers"]) - 1
        no_bn = ["model.layers.%d.batch_norm=false" % i for i in range(n_hidden)]
        narrow = ["model.layers.0.units=512", "model.layers.1.units=256"]
        short = ["training.epochs=%d" % a.ablate_epochs] if a.ablate_epochs else []
        steps = [("without augmentation", ["data.augment={}"]),
                 ("without label smoothing", ["label_smoothing=0"]),
                 ("without the moving average", ["training.ema=0"]),
                 ("without batch normalization", no_bn),
                 ("with layers of 512 and 256", narrow)]
        if short or a.ablation_only:
            steps.insert(0, ("everything", []))
        else:
            # The whole config on the best family is the first family's run:
            # same seed, same kernels, the same bits, so it is not trained twice.
            abl.append(("everything", rows[0][1], rows[0][2]))
        for name, sets in steps:
            acc, secs = run_best(a.nntrain, a.config, best_isa, sets + short)
            print("%-28s accuracy %.4f  %.0f s" % (name, acc, secs), flush=True)
            abl.append((name, acc, secs))
    with open(a.out, "w") as f:
        f.write("# make bench-best\n\nMachine: %s, 2 threads. `%s`, test accuracy after "
                "training (--eval of the saved model), and the training's wall time "
                "(budget %.0f s).\n\n" % (cpu_model(), a.config, BUDGET))
        if missing:
            f.write("Not measured (this machine lacks the instructions): %s.%s\n\n"
                    % ("; ".join(missing), ""))
        if rows:
            f.write("| kernels | test accuracy | seconds |\n|---|---|---|\n")
        for name, acc, secs in rows:
            f.write("| %s | %.4f | %.0f%s |\n" % (name, acc, secs, "" if secs <= BUDGET else
                                                    " (over)"))
        if abl:
            f.write("\nEach ingredient taken out (%s%s):\n\n"
                    % (families[0][0],
                       ", every run cut to %d epochs (the cosine schedule with them)"
                       % a.ablate_epochs if a.ablate_epochs else ""))
            f.write(
                    "| run | test accuracy | against everything | seconds |\n|---|---|---|---|\n")
            full = abl[0][1]
            for name, acc, secs in abl:
                f.write("| %s | %.4f | %+.4f | %.0f |\n" % (name, acc, acc - full, secs))
    print("wrote", a.out)


if __name__ == "__main__":
    main()
