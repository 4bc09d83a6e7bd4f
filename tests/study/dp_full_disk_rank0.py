"""`xstilts` under accelerate launch where rank 0's disk is full for the training state
(tests/study/test_data_parallel_run.py): rank 0 alone fails to save, as on a full disk."""

from __future__ import annotations

import errno
import os
import sys

from xstilts.train import state

if os.environ.get("RANK") == "0":
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    state.write_json_atomic = full_disk  # save_training_state's last file

from xstilts.cli import main  # noqa: E402

sys.exit(main())
