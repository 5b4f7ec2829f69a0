#!/usr/bin/python3
"""Measures every kept checkpoint of a GAN run against a folder of real images, afterwards: for each
step-N.ckpt, `impasto generate` draws the same latents (one seed) through its EMA generator and
`impasto eval` compares them with the real folder (FID and KID on random-multiscale features, or
what --eval-args names). Writes OUT/log.jsonl with one record per checkpoint ({"step", "train_s",
"fid", "kid"}; train_s read from the run's own log), in the form tools/plot_gan_runs.py draws, so
a curve of FID against training time can use many more samples and references than the
in-training evaluation (which a small hold-out makes noisy: docs/gan-small-collections.md).

    tools/eval_gan_checkpoints.py --run runs/photos64 --checkpoints runs/photos64-kept \\
        --real photos64-crops/ -n 1000 -o runs/photos64-offline
    tools/plot_gan_runs.py -o fid.png "small preset=runs/photos64-offline"

A run keeps only its last --keep-checkpoints files: copy them aside while it trains (the
--checkpoints folder) to measure the whole curve. Checkpoints already in OUT/log.jsonl are skipped,
so the script can be rerun while a run goes on. Standard library only."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def training_seconds(run):
    """step -> train_s from the run's log.jsonl (the last record of each step)."""
    seconds = {}
    with open(os.path.join(run, "log.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if "train_s" in record and "step" in record:
                seconds[record["step"]] = record["train_s"]
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="the GAN run folder (its log.jsonl gives the training time)")
    parser.add_argument("--checkpoints", help="folder of step-N.ckpt files (default: RUN/checkpoints)")
    parser.add_argument("--real", required=True, help="folder of real images to compare with")
    parser.add_argument("-n", "--count", type=int, default=1000, help="samples per checkpoint")
    parser.add_argument("--seed", type=int, default=1, help="seed of the latents (the same for every checkpoint)")
    parser.add_argument("--impasto", default="build/impasto", help="the impasto binary")
    parser.add_argument("--eval-args", default="--allow-rank-deficient --classifier none",
                        help="further arguments of impasto eval")
    parser.add_argument("-o", "--out", required=True, help="folder for log.jsonl")
    args = parser.parse_args()

    folder = args.checkpoints or os.path.join(args.run, "checkpoints")
    pattern = re.compile(r"step-0*(\d+)\.ckpt$")
    checkpoints = sorted((int(m.group(1)), os.path.join(folder, name))
                         for name in os.listdir(folder) for m in [pattern.match(name)] if m)
    if not checkpoints:
        sys.exit(f"{folder}: no step-N.ckpt files")
    seconds = training_seconds(args.run)
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "log.jsonl")
    done = set()
    if os.path.exists(log_path):
        with open(log_path) as f:
            done = {json.loads(line)["step"] for line in f if line.strip()}
    for step, path in checkpoints:
        if step in done:
            continue
        if step not in seconds:
            print(f"step {step}: not in {args.run}/log.jsonl, skipped", file=sys.stderr)
            continue
        work = tempfile.mkdtemp(prefix="impasto-eval-")
        try:
            samples = os.path.join(work, "samples") + "/"
            result = os.path.join(work, "eval.json")
            subprocess.run([args.impasto, "generate", "-q", "--model", path, "-n", str(args.count), "--seed", str(args.seed),
                            "-o", samples], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([args.impasto, "eval", "-q", "--fake", samples, "--real", args.real, "--json", result]
                           + args.eval_args.split(), check=True, stdout=subprocess.DEVNULL)
            with open(result) as f:
                measured = json.load(f)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        kid = measured.get("kid")
        record = {"step": step, "train_s": seconds[step], "fid": measured.get("fid"),
                  "kid": kid.get("mean") if isinstance(kid, dict) else kid}
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record))


if __name__ == "__main__":
    main()
