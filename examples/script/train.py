"""A small, ordinary PyTorch training program, the kind `recipe: script` runs (examples/script.yaml).

It knows nothing of hotlap: it reads argparse flags, trains a two-layer MLP on scikit-learn's
handwritten digits (8x8 images, a fixed stratified split: a fifth of each class for validation), and
prints what hotlap reads:
- one JSON line per epoch, with an `epoch` key (hotlap streams them to its callbacks);
- a last JSON line with the final metrics (`val_acc`, and its own `train_time`: the training loop
  alone, without the start-up of Python and torch, which hotlap's `wall_time` includes).
Where hotlap gave it a run folder (HOTLAP_RUN_DIR), it saves its weights there.

    python examples/script/train.py --lr 0.1 --epochs 15 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import nn


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate")
    parser.add_argument("--weight-decay", type=float, default=5e-4, help="SGD weight decay")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    parser.add_argument("--epochs", type=int, default=15, help="passes over the training set")
    parser.add_argument("--batch-size", type=int, default=64, help="examples per step")
    parser.add_argument("--hidden", type=int, default=128, help="hidden units")
    parser.add_argument("--seed", type=int, default=0, help="initialization and data order")
    return parser.parse_args()


def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0  # pixel values are 0..16
    y = torch.tensor(digits.target)
    # A fixed stratified split (the same for every seed): a fifth of each class for validation.
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    val = torch.cat([order[y[order] == c][: int(0.2 * (y == c).sum())] for c in range(10)])
    is_val = torch.zeros(len(y), dtype=torch.bool)
    is_val[val] = True
    return x[~is_val], y[~is_val], x[is_val], y[is_val]


def main() -> None:
    args = arguments()
    torch.manual_seed(args.seed)
    x_train, y_train, x_val, y_val = data()
    model = nn.Sequential(nn.Linear(64, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 10))
    optimizer = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay
    )
    loss_fn = nn.CrossEntropyLoss()
    train_time = 0.0
    val_acc = 0.0
    for epoch in range(1, args.epochs + 1):
        begin = time.perf_counter()
        model.train()
        order = torch.randperm(len(y_train))
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        train_time += time.perf_counter() - begin
        model.eval()
        with torch.no_grad():
            val_acc = (model(x_val).argmax(1) == y_val).float().mean().item()
        print(json.dumps({"epoch": epoch, "train_loss": loss.item(), "val_acc": val_acc}), flush=True)
    run_dir = os.environ.get("HOTLAP_RUN_DIR")
    if run_dir:
        torch.save(model.state_dict(), Path(run_dir) / "model.pt")
    print(json.dumps({"val_acc": val_acc, "train_time": train_time}))


if __name__ == "__main__":
    main()
