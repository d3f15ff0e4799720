"""PyTorch baseline for `npm run bench`: the same Fashion-MNIST MLP training, and sgemm GFLOP/s.

With --lockstep, training prints {"epoch": i, "samplesPerSec": r} after each epoch and waits for a
line on stdin before the next one (and before scoring the test set): bench/main.ts runs our epochs in
between, so the two sides take turns on an otherwise idle machine.

Run by bench/baseline.ts with /usr/bin/python3 (Debian's python3-torch) and the environment a
knowledgeable user would set (OPENBLAS_CORETYPE, OMP_WAIT_POLICY). Prints one JSON object.

  baseline.py train --data DIR --batch 128 --epochs 10 --lr 0.02 --threads 1 --hidden 128 [--lockstep]
  baseline.py gemm --threads 1 --shapes 'M,N,K,transA,transB;...'
"""
import argparse
import ctypes
import gzip
import json
import math
import statistics
import sys
import time

import numpy as np
import torch


def openblas_corename():
    for name in ("libopenblas.so.0", "libopenblasp.so.0", "libopenblas.so"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "unknown"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{data_dir}/{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(f"{data_dir}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def train(args):
    torch.manual_seed(args.seed)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    sizes = [784] + [int(h) for h in args.hidden.split(",")] + [10]
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = xtr.shape[0]
    # Cosine decay to 0 over all steps, per step, as the core's 'cosine' schedule (Keras CosineDecay).
    total_steps = args.epochs * ((n + args.batch - 1) // args.batch)
    step = 0
    rates = []
    for _ in range(args.epochs):
        model.train()
        perm = torch.randperm(n)
        start = time.perf_counter()
        for b in range(0, n, args.batch):
            idx = perm[b : b + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            for group in opt.param_groups:
                group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
            step += 1
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        rates.append(n / (time.perf_counter() - start))
        if args.lockstep:
            # Our turn is over: say how it went, then wait (untimed) while the other side runs.
            print(json.dumps({"epoch": len(rates), "samplesPerSec": rates[-1]}), flush=True)
            sys.stdin.readline()
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    return {"samplesPerSec": statistics.median(rates), "rates": rates, "testAccuracy": acc}


def gemm(args):
    out = []
    for spec in args.shapes.split(";"):
        M, N, K, ta, tb = (int(v) for v in spec.split(","))
        a = torch.rand(K, M) if ta else torch.rand(M, K)
        b = torch.rand(N, K) if tb else torch.rand(K, N)
        opa = a.t() if ta else a
        opb = b.t() if tb else b
        c = torch.empty(M, N)
        for _ in range(3):
            torch.mm(opa, opb, out=c)
        # Best of short trials (~10 ms), as bench/gemm.ts measures ours.
        flop = 2 * M * N * K
        per_trial = max(1, round(0.01 / (flop / 50e9)))
        best, start = 0.0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            t0 = time.perf_counter()
            for _ in range(per_trial):
                torch.mm(opa, opb, out=c)
            best = max(best, flop * per_trial / (time.perf_counter() - t0) / 1e9)
        out.append({"M": M, "N": N, "K": K, "gflops": best})
    return {"shapes": out}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "gemm"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--hidden", default="128")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shapes", default="")
    p.add_argument("--seconds", type=float, default=0.5)
    p.add_argument("--lockstep", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    result = train(args) if args.mode == "train" else gemm(args)
    result["baselineKernel"] = openblas_corename()
    result["threads"] = torch.get_num_threads()
    result["torch"] = torch.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
