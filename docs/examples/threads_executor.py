"""An executor of your own: runs on a pool of threads, each with its own in-process worker.

Its constructor's keyword arguments are its spec options: `executor: {name: threads, workers: 2}`.
An executor takes `Task`s (plain data: recipe, resolved config, dataset, seed) and returns
`Outcome`s through futures; it never touches the store.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hotlap.executors import Executor, InProcessExecutor, register_executor


@register_executor("threads")
class Threads(Executor):
    def __init__(self, workers: int = 2, warmup: bool = False):
        self.capacity = workers  # runs in flight at once
        self.pool = ThreadPoolExecutor(workers)
        self.inner = [InProcessExecutor(warmup=warmup) for _ in range(workers)]

    def prepare(self, dataset, data_dir, device):
        for worker in self.inner:
            worker.prepare(dataset, data_dir, device)

    def submit(self, task, on_epoch=None):
        worker = self.inner[task.run_id % len(self.inner)]
        return self.pool.submit(lambda: worker.submit(task, on_epoch).result())

    def shutdown(self):
        self.pool.shutdown()
        for worker in self.inner:
            worker.shutdown()
