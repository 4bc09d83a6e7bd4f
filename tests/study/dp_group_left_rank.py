"""`xstilts run` under accelerate launch, recording per rank whether the process group is
still there when the command returns (tests/study/test_data_parallel_run.py): it must not
be, as a gloo group left to the interpreter's exit can abort the process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from xstilts.cli import main

code = main()
out = Path(sys.argv[sys.argv.index("--out") + 1])
(out / f"group-left-{os.environ['RANK']}").write_text(
    str(not torch.distributed.is_initialized()))
sys.exit(code)
