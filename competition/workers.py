"""Worker processes for the trainings of a run (pretrainings, fold models): how many train at once, and the pool
that runs them.

Each training is independent and deterministic at a fixed thread count, so a worker process computes the bytes
this process would: the pool (``concurrent.futures`` with ``spawn``: a fresh interpreter, no forked torch threads
or locks) only changes when they are done. With GPUs each worker takes one for its whole life.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import torch

from competition.errors import PipelineError
from competition.fold_models import QUIET, is_distributed, merge
from competition.progress import progress_bar

ORPHAN_CHECK_S = 1.0  # how often a worker checks that the run's process is still there

Task = TypeVar("Task")
Output = TypeVar("Output")
Result = TypeVar("Result")



class WorkerError(PipelineError):
    """A worker process died; the message says how to resume."""


def uses_gpus(lightning: dict[str, Any]) -> bool:
    """Whether a training of the ``imbalance-xfmr`` config ``lightning`` runs on this machine's GPUs."""
    accelerator = str((lightning.get("trainer") or {}).get("accelerator", "auto"))
    return torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")


def workers_for(lightning: dict[str, Any], config_parallel: int | None, num_threads: int | None,
                n_tasks: int) -> tuple[int, bool]:
    """(how many of ``n_tasks`` trainings of the ``imbalance-xfmr`` config ``lightning`` run at once, whether they
    run on GPUs): :func:`n_workers`, or 1 for a distributed (DDP) config, which takes several devices itself."""
    gpus = uses_gpus(lightning)
    return (1 if is_distributed(lightning) else n_workers(config_parallel, num_threads, n_tasks, gpus)), gpus


def n_workers(config_parallel: int | None, num_threads: int | None, n_tasks: int, gpus: bool) -> int:
    """How many trainings run at once: ``transformer.parallel``, else one per GPU, else as many as the cores take
    at ``transformer.num_threads`` threads each; never more than there are trainings."""
    if config_parallel is not None:
        wanted = config_parallel
    elif gpus:
        wanted = torch.cuda.device_count()
    else:
        # The cores this process may use (a container's or a cluster job's share), not the host's.
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        wanted = cores // max(num_threads or 1, 1)
    return max(1, min(wanted, n_tasks))


def _start_worker(parent: int, gpus: multiprocessing.Queue | None) -> None:
    """Worker initialiser: end this worker when the run's process ``parent`` is gone (killed with no chance to
    stop its workers, a worker would finish its training and then wait for work forever); with GPUs, take one of
    them for this worker's whole life (a training per GPU)."""
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpus.get())


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(1)  # its checkpoints are written atomically: a rerun resumes the training


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued trainings and end the running ones now, not when they finish: a rerun resumes them from
    their last checkpoint."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the executor has no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)


def run_trainings(fit: Callable[[Task], Output], tasks: Sequence[Task], workers: int, gpus: bool,
                  done: Callable[[Task, Output], Result], what: str) -> list[Result]:
    """``fit(task)`` for every task, one after another in this process (``workers`` 1) or in ``workers`` spawned
    processes (``fit`` and the tasks must pickle), each task's ``args`` (an ``imbalance-xfmr`` config) with
    :data:`QUIET`, and ``done(task, output)`` in this process as each one finishes, in that order, under one progress
    bar (on a terminal); returns ``done``'s results. ``what`` ("fold models") names the trainings in the bar and in
    the message of a worker that died. On an error the queued trainings are cancelled (see :func:`_stop`)."""
    tasks = [dataclasses.replace(task, args=merge(task.args, QUIET)) for task in tasks]
    with progress_bar(len(tasks), what) as bar:
        def finished(task: Task, output: Output) -> Result:
            bar.update()
            return done(task, output)

        if workers == 1:
            return [finished(task, fit(task)) for task in tasks]
        return _run_in_pool(fit, tasks, workers, gpus, finished, what)


def _run_in_pool(fit: Callable[[Task], Output], tasks: Sequence[Task], workers: int, gpus: bool,
                 done: Callable[[Task, Output], Result], what: str) -> list[Result]:
    context = multiprocessing.get_context("spawn")
    gpu_queue = None
    if gpus:
        gpu_queue = context.Queue()
        for device in range(torch.cuda.device_count()):
            gpu_queue.put(device)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), gpu_queue))
    results = []
    try:
        futures = {pool.submit(fit, task): task for task in tasks}
        for future in as_completed(futures):
            results.append(done(futures[future], future.result()))
    except BrokenProcessPool as err:
        pool.shutdown(wait=True, cancel_futures=True)
        raise WorkerError(f"a worker process died while training {what} (killed, or out of memory?); run again to "
                          "resume: finished trainings are kept, interrupted ones continue from their checkpoints "
                          "(set transformer.parallel lower if memory ran out)") from err
    except KeyboardInterrupt:  # Ctrl-C, or a plain `kill` (competition.runner raises it as KeyboardInterrupt)
        _stop(pool)
        raise
    except BaseException:  # a training failed: the others finish theirs (each writes its checkpoint)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
