#!/usr/bin/env python3
"""Puts two validation curves side by side, as a Markdown table.

Usage: compare_curves.py WEFT_METRICS TORCH_OUTPUT [--every SECONDS]

WEFT_METRICS is the JSON-lines file of `weft train --metrics`; TORCH_OUTPUT
is what ../shared/bench/torch_charlm.py printed. Both hold objects with
`step`, `elapsed_s` and `val_loss` at each evaluation. Each row gives, at
a point in time, the latest evaluation of each run made by then.
"""

import argparse
import json


def evaluations(path):
    """(elapsed seconds, step, validation loss) of each evaluation."""
    points = []
    with open(path) as lines:
        for line in lines:
            line = line.strip()
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if "val_loss" in record and "elapsed_s" in record:
                points.append((record["elapsed_s"], record["step"],
                               record["val_loss"]))
    return sorted(points)


def latest(points, seconds):
    done = [p for p in points if p[0] <= seconds]
    return done[-1] if done else None


def cell(point):
    return "–" if point is None else f"{point[2]:.3f} (step {point[1]})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("weft")
    parser.add_argument("torch")
    parser.add_argument("--every", type=float, default=60)
    args = parser.parse_args()
    weft, torch = evaluations(args.weft), evaluations(args.torch)
    end = max(weft[-1][0], torch[-1][0])
    print("| time | Weft val loss | PyTorch val loss |")
    print("|---|---|---|")
    seconds = max(weft[0][0], torch[0][0])
    while seconds < end + args.every:
        shown = min(seconds, end)
        w, t = latest(weft, shown + 1e-9), latest(torch, shown + 1e-9)
        print(f"| {shown:.0f} s | {cell(w)} | {cell(t)} |")
        seconds += args.every
    for name, points in (("Weft", weft), ("PyTorch", torch)):
        best = min(points, key=lambda p: p[2])
        print(f"\n{name}: {points[-1][1]} steps in {points[-1][0]:.0f} s, "
              f"best validation loss {best[2]:.3f} at step {best[1]}.")


if __name__ == "__main__":
    main()
