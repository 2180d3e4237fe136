"""Run syncio tasks on a Dask cluster: the same tasks and results as gather(), more machines.

Needs the optional extra: pip install "syncio[dask]". This starts a small cluster on
this machine (a scheduler and two worker processes on loopback); to use a real one,
change the one marked line.
"""

# Dask's API is only partly annotated; take its calls as they are:
# mypy: disallow-untyped-calls=False
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import socket

from dask.distributed import Client, LocalCluster

from syncio import create_task, executor_gather, is_exception


def hello(n: int) -> str:
    return f"hello {n + 1} from {socket.gethostname()}"


def divide(a: int, b: int) -> float:
    return a / b


def main() -> None:
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,  # pyright: ignore[reportArgumentType]  # None (no dashboard) is documented
    )
    client = Client(cluster)  # a remote cluster instead: client = Client("tcp://scheduler:8786")
    try:
        # The executor belongs to the client: syncio never shuts it down, so it can run
        # many gathers. Functions must be importable on the workers, or picklable by
        # value (Dask uses cloudpickle), and syncio must be installed there.
        tasks = [create_task(hello)(i) for i in range(3)]
        results = executor_gather(client.get_executor(), *tasks, create_task(divide)(1, 0), timeout=60)
        for key, result in results.items():
            if is_exception(result):
                print(f"{key} failed: {type(result.exception).__name__}: {result.exception}")
            else:
                print(f"{key}: {result}")
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":  # the workers are new processes that import this module
    main()
