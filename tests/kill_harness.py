"""Kill an `xstilts` command with SIGKILL at an exact point: mid-step, mid-save, mid-evaluation.

The command runs as `python -c WRAPPER SPEC EVENTS ARGS...`: the wrapper (test code only; the
library has no hooks) wraps three library functions to append an event line to EVENTS each
time one runs in a training phase, then calls `xstilts.cli.main(ARGS)`:

- step: an optimiser step's gradients are computed, its update not yet applied;
- save: a checkpoint folder (`last/` or `best/`) has its weights written, nothing else yet;
- eval: a dev set has been predicted, its record not yet written.

At the SPEC-th ("kind:n") event of that kind it writes EVENTS.armed and sleeps, so the test
kills it right there. It also logs where each phase resumed from ("resume", its step).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures import log_records

SRC = Path(__file__).resolve().parents[1] / "src"

WRAPPER = r"""
import json, os, sys, time
from pathlib import Path
spec, events = sys.argv[1], Path(sys.argv[2])
wanted, nth = (spec.split(":") if spec != "none" else (None, "0"))
counts, where = {}, {}

def event(kind, phase, **detail):
    counts[kind] = counts.get(kind, 0) + 1
    with events.open("a") as fh:
        fh.write(json.dumps({"kind": kind, "n": counts[kind], "phase": phase, "pid": os.getpid(),
                             **detail}) + "\n")
    if kind == wanted and counts[kind] == int(nth):
        Path(str(events) + ".part").write_text(phase)
        os.replace(str(events) + ".part", str(events) + ".armed")  # whole when it appears
        time.sleep(300)  # killed here by the test (bounded, should the test die)

import xstilts.models.multitask as multitask
import xstilts.train.loop as loop

real_check, real_save, real_predict = loop.check_finite, multitask.MultiTaskModel.save, loop.predict_and_score
real_keep, real_load = loop._evaluate_and_keep, loop.load_training_state

def check_finite(loss, norm, task, step, steps, last_dir):
    real_check(loss, norm, task, step, steps, last_dir)
    event("step", Path(last_dir).parent.name, step=step)

def save(self, folder, tokenizer):
    real_save(self, folder, tokenizer)
    folder = Path(folder)
    if folder.name.startswith((".last.", ".best.")):  # a training phase's checkpoint
        event("save", folder.parent.name, part=folder.name.split(".")[1])

def evaluate_and_keep(model, tokenizer, data, cfg, device, state, best_dir, *rest, **named):
    where["phase"] = Path(best_dir).parent.name
    return real_keep(model, tokenizer, data, cfg, device, state, best_dir, *rest, **named)

def predict_and_score(*args, **kwargs):
    out = real_predict(*args, **kwargs)
    event("eval", where["phase"])
    return out

def load_training_state(folder, *args):
    state = real_load(folder, *args)
    with events.open("a") as fh:
        fh.write(json.dumps({"kind": "resume", "phase": Path(folder).parent.name,
                             "step": state["step"], "pid": os.getpid()}) + "\n")
    return state

loop.check_finite, multitask.MultiTaskModel.save = check_finite, save
loop._evaluate_and_keep, loop.predict_and_score = evaluate_and_keep, predict_and_score
loop.load_training_state = load_training_state
from xstilts.cli import main
sys.exit(main(sys.argv[3:]))
"""


def cli_env() -> dict:
    env = dict(os.environ)  # XSTILTS_CACHE: the session's cache (conftest)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    return env


def start(spec: str, events: Path, args: list[str], log: Path) -> subprocess.Popen:
    """Start `xstilts ARGS` under the wrapper, in its own process group."""
    with log.open("a", encoding="utf-8") as fh:
        return subprocess.Popen([sys.executable, "-c", WRAPPER, spec, str(events), *args],
                                env=cli_env(), stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)


def run_to_end(events: Path, args: list[str], log: Path) -> None:
    proc = start("none", events, args, log)
    rc = proc.wait(timeout=900)
    assert rc == 0, f"xstilts failed (rc {rc}):\n{log.read_text(encoding='utf-8')[-4000:]}"


def kill_at(spec: str, events: Path, args: list[str], log: Path, timeout: float = 600) -> str:
    """Run until the wrapper arms at `spec`, then SIGKILL the process group; returns the
    phase folder it was killed in."""
    armed = Path(str(events) + ".armed")
    armed.unlink(missing_ok=True)
    proc = start(spec, events, args, log)
    started = time.perf_counter()
    while not armed.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited (rc {proc.returncode}) before the kill point {spec}"
                                 f":\n{log.read_text(encoding='utf-8')[-3000:]}")
        if time.perf_counter() - started > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"the kill point {spec} never came ({log})")
        time.sleep(0.02)
    phase = armed.read_text()  # written before the sleep: the process is parked there
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return phase


def read_events(events: Path) -> list[dict]:
    if not events.exists():
        return []
    return [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]


def choose_kill(reference: list[dict], kind: str, rng: random.Random) -> tuple[str, dict]:
    """A seeded kill point of `kind` from the reference run's events, among those that come
    after the phase saved its first resume state (so the resume is mid-phase)."""
    saved, candidates = set(), []
    for e in reference:
        if e["kind"] == kind and e["phase"] in saved:
            candidates.append(e)
        if e["kind"] == "save" and e.get("part") == "last":
            saved.add(e["phase"])
    chosen = rng.choice(candidates)
    return f"{kind}:{chosen['n']}", chosen


def saved_state(store: Path, phase: str) -> int | None:
    """The step of `phase`'s resume state in the store (None if it has none)."""
    path = store / "checkpoints" / phase / "last" / "training_state.json"
    return json.loads(path.read_text())["step"] if path.exists() else None


def training_logs(store: Path) -> dict[str, list[dict]]:
    """Each phase's log records, less their wall-clock throughput (differs run to run)."""
    return {p.parent.name: log_records(p) for p in (store / "checkpoints").glob("*/log.jsonl")}


def leftovers(store: Path) -> list[str]:
    """Temp folders of an interrupted checkpoint save."""
    return [str(p) for p in (store / "checkpoints").glob("*/.*") if p.is_dir()]
