"""Ray backend: each job a Ray task on an existing cluster (or a local instance), with a GPU
when the cluster has them. Workers write artifacts and job records into the store (storage
every node sees; each job under its lock, study/claim.py); only this driver writes the store's
database."""

from __future__ import annotations

from xstilts.errors import XstiltsError
from xstilts.study.claim import run_claimed


class RayBackend:
    """Jobs as Ray tasks; as many at once as the cluster has GPUs (or CPUs without GPUs)."""

    def __init__(self, address: str | None = None, device: str | None = None):
        try:
            import ray
        except ImportError as exc:
            raise XstiltsError("the ray backend needs Ray.\n  fix: pip install -e \".[ray]\" "
                               "(or pip install 'ray[default]').") from exc
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            # No address: a local instance (what CI runs); else join the running cluster.
            ray.init(address=address, include_dashboard=False, log_to_driver=True,
                     configure_logging=False)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        self.device = device or ("cuda" if gpus else "cpu")
        self.capacity = gpus if gpus else max(1, int(resources.get("CPU", 1)) // 2)
        self.remote = ray.remote(num_gpus=1 if gpus else 0, num_cpus=1,
                                 max_retries=0)(run_claimed)

    def submit(self, job, setup, root, folders, threads):
        return self.remote.remote(job, setup, root, folders, self.device, threads)

    def wait(self, handles):
        ready, _ = self.ray.wait(handles, num_returns=1)
        return ready[0], self.ray.get(ready[0])

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()
