"""torch_mlp.py - the `make bench` end-to-end workload in PyTorch, as the peer.

The same job as nntrain on bench/*.json: dense layers with sigmoid units,
Glorot-uniform weights and zero biases, mean squared error on one-hot targets,
plain SGD once per mini-batch, a fresh shuffle every epoch, images kept as
bytes and scaled to [0, 1] one batch at a time.

The loss convention differs: nntrain's cost is C = 1/(2N) sum |yhat - y|^2,
PyTorch's MSELoss (mean) divides by N*K, so C = K/2 * MSELoss and nntrain's
learning rate eta is PyTorch's eta*K/2: the updates are the same.

--precision bf16 runs the forward pass and the loss under
torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's mixed precision: the
products take bf16 operands (autocast casts the fp32 weights and inputs on
every call), the weights, their gradients and the optimizer stay fp32, and
the loss is computed in fp32 (autocast's CPU policy for mse_loss).  The
backward pass follows the forward's types.

Only the training loop is timed, after a warm-up of a few batches (imports,
data loading and the warm-up are not).  Prints one JSON object.

    torch_mlp.py --data DIR --layers 784,128,10 --batch 32 --lr 2.0 \
                 --threads 1 [--samples N] [--precision fp32|bf16]
Thread counts are set by the caller's environment too (OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, OMP_WAIT_POLICY): they must be set before torch loads.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time


def read_idx(path):
    """An IDX file (gzip or plain) as (dims, bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[2] != 0x08:
        sys.exit(f"torch_mlp.py: {path}: only unsigned-byte IDX files are read here")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return dims, raw[4 + 4 * ndim:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder with the Fashion-MNIST training files")
    ap.add_argument("--layers", required=True, help="units, input first: 784,128,10")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--lr", type=float, required=True, help="nntrain's learning rate")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--samples", type=int, default=0, help="samples to time (0: one epoch)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                    help="bf16: autocast to bfloat16 around the forward pass and the loss")
    a = ap.parse_args()

    import torch  # after the environment is set by the caller

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dims, xs = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    _, ys = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"))
    n = dims[0]
    X = torch.frombuffer(bytearray(xs), dtype=torch.uint8).view(n, -1)
    labels = torch.frombuffer(bytearray(ys), dtype=torch.uint8).long()
    units = [int(u) for u in a.layers.split(",")]
    K = units[-1]
    onehot = torch.eye(K)[labels]

    mods = []
    for fan_in, fan_out in zip(units, units[1:]):
        lin = torch.nn.Linear(fan_in, fan_out)
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        mods += [lin, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*mods)
    loss_fn = torch.nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr * K / 2)

    import contextlib
    if a.precision == "bf16":
        autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext

    def step(idx):
        x = X[idx].float().div_(255.0)
        y = onehot[idx]
        with autocast():
            out = model(x)
            loss = loss_fn(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss, out

    for i in range(20):  # warm-up
        step(torch.randint(0, n, (a.batch,)))

    total = a.samples if a.samples > 0 else n
    order = torch.randperm(n)
    loss_sum, correct, done = 0.0, 0, 0
    t0 = time.perf_counter()
    while done < total:
        idx = order[done % n:done % n + min(a.batch, total - done)]
        loss, out = step(idx)
        loss_sum += loss.item() * len(idx) * K / 2
        correct += (out.argmax(1) == labels[idx]).sum().item()
        done += len(idx)
    dt = time.perf_counter() - t0
    print(json.dumps({"samples": done, "seconds": round(dt, 3),
                      "samples_per_second": round(done / dt),
                      "train_loss": round(loss_sum / done, 6),
                      "train_accuracy": round(correct / done, 4),
                      "threads": torch.get_num_threads(), "precision": a.precision,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
