"""Check resuming a training phase on a GPU: optimiser state on the parameters' device, CUDA RNG
restored, and the same losses as an uninterrupted phase.

    python benchmarks/gpu_resume_check.py            # on a machine with CUDA
    python benchmarks/gpu_resume_check.py --device cpu   # the same check on the CPU

Trains a tiny-random phase (two demo tasks, dropout on, bf16 autocast where supported) three
times in this process: uninterrupted; killed inside a step after a `save_every` save (a
KeyboardInterrupt where SIGKILL would land); resumed from `last/`. Deterministic algorithms
are switched on, so the resumed losses must equal the uninterrupted ones exactly (use
--tolerance to allow a difference). Exit status 0 when every check passes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before CUDA starts

import torch  # noqa: E402

from xstilts.config import parse_config  # noqa: E402
from xstilts.models.build import build_model
from xstilts.models.encoder import resolve_encoder  # noqa: E402
from xstilts.study.phases import phase_data, seed_everything
from xstilts.tasks.loading import RunData
from xstilts.train import loop  # noqa: E402

CONFIG = """
seed: 3
encoder: {name: tiny-random}
suites:
  demo: {sizes: {train: 64, dev: 16, test: 16}, seed: 0}
intermediate:
  tasks: [demo-nli, demo-mc-en]
  training: {max_steps: 12, batch_size: 8, learning_rate: 1.0e-3, max_length: 48,
             eval_every: 6, save_every: 4}
targets:
  tasks: [demo-nli]
"""
KILL_AT = 10  # saves at 4, 6 (dev), 8: resumes from step 8


def train(config, out: Path, device: torch.device):
    """One phase of the config's intermediate tasks, as the pipeline trains it."""
    data = RunData(config)
    base = resolve_encoder("tiny-random", data.texts(), config.seed)
    seed_everything(config.seed)
    model, tokenizer = build_model(base, config.encoder)
    tds = phase_data(model, tokenizer, data.tasks, config.intermediate)
    return loop.train_phase(model, tokenizer, tds, config.intermediate.training, out,
                            config.seed, device)


def losses(out: Path) -> list[float]:
    lines = (out / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [r["loss"] for r in map(json.loads, lines) if "loss" in r]


def placement_problems(optimizer) -> list[str]:
    """Optimiser state tensors not on their parameter's device (or dtype)."""
    problems = []
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if not torch.is_tensor(value):
                continue
            if key == "step":  # torch keeps it on the CPU unless fused/capturable
                if value.device.type not in ("cpu", param.device.type):
                    problems.append(f"step on {value.device}")
            elif (value.device, value.dtype) != (param.device, param.dtype):
                problems.append(f"{key} on {value.device}/{value.dtype}, param on "
                                f"{param.device}/{param.dtype}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="largest allowed |resumed - uninterrupted| loss difference")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_resume_check: no CUDA device here; run it on a GPU machine "
              "(or pass --device cpu)", file=sys.stderr)
        return 2
    # warn_only: an op without a deterministic kernel warns (then pass --tolerance) instead
    # of stopping the check.
    torch.use_deterministic_algorithms(True, warn_only=True)
    config = parse_config(CONFIG)
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train(config, tmp / "full", device)
        expected = losses(tmp / "full")

        real_check = loop.check_finite

        def check_or_die(loss, norm, task, step, *rest):
            if step == KILL_AT:
                raise KeyboardInterrupt  # mid-step, as a SIGKILL would land
            real_check(loss, norm, task, step, *rest)

        loop.check_finite = check_or_die
        try:
            train(config, tmp / "run", device)
            failures.append("the interrupted phase was not interrupted")
        except KeyboardInterrupt:
            pass
        finally:
            loop.check_finite = real_check
        saved = torch.load(tmp / "run" / "last" / "optimizer.pt", weights_only=True)
        if device.type == "cuda" and "cuda_rng" not in saved:
            failures.append("the saved state has no CUDA RNG state")

        real_load, seen = loop.load_training_state, {}

        def load_and_look(folder, model, optimizer, *rest):
            state = real_load(folder, model, optimizer, *rest)
            seen["step"] = state["step"]
            seen["placement"] = placement_problems(optimizer)
            seen["states"] = len(optimizer.state)
            if device.type == "cuda":
                seen["rng"] = torch.equal(torch.cuda.get_rng_state(device.index or 0).cpu(),
                                          saved["cuda_rng"][device.index or 0])
            return state

        loop.load_training_state = load_and_look
        try:
            train(config, tmp / "run", device)
        finally:
            loop.load_training_state = real_load
        got = losses(tmp / "run")

    if seen.get("step") != 8:
        failures.append(f"resumed from step {seen.get('step')}, not 8")
    if not seen.get("states"):
        failures.append("the resumed optimiser has no state")
    failures += seen.get("placement", [])
    if device.type == "cuda" and not seen.get("rng"):
        failures.append("the CUDA RNG state was not restored")
    diff = max((abs(a - b) for a, b in zip(got, expected, strict=False)), default=float("inf"))
    if len(got) != len(expected) or diff > args.tolerance:
        failures.append(f"losses differ from the uninterrupted run (max |diff| {diff}; "
                        f"{len(got)} vs {len(expected)} steps)")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"gpu_resume_check on {name}: resumed at step {seen.get('step')}, "
          f"{seen.get('states')} optimiser states, max loss diff {diff}")
    for failure in failures:
        print(f"FAIL: {failure}")
    print("OK" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
