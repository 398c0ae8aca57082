"""The Ray engine: the same recipe over many files as a Ray Data ``map_batches`` job.

The local engine plans the batch (output names, the manifest protocol, the report); this module
only replaces its process pool. Rows are jobs (input path, relative path, ``process_file``
options); an actor pool runs ``FileProcessor``: each actor tunes its process once, rebuilds the
recipe once and calls the local engine's ``process_file`` for every row, so a model such as
U²-Net-p is opened once per actor (then cached by ``runtime``) and the outputs are the local
engine's outputs. The driver collects results as they come, records them in the manifest when
there is one, and returns the same BatchReport as ``process_batch``.

Inputs and the output folder must be reachable from every node: ``s3://`` URLs, or local paths on
a filesystem every node mounts at the same place. Local paths are made absolute in the driver.

Sizing: by default one actor per cluster CPU, together claiming ``CPU_RESERVE`` CPUs less than the
cluster has, so Ray Data's own tasks can always be scheduled (an actor pool that claims every CPU
starves them and the job never finishes). Each actor runs one OpenCV and one onnxruntime thread.

    >>> report = process_batch_ray(expand_inputs(["s3://shots/2024/"]), recipe, "s3://ready/2024")
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import storage
from ..version import __version__
from ..errors import StudioError, UsageError
from ..inputs import InputFile
from ..limits import Limits
from ..recipe import Recipe
from .local import BatchReport, FileResult

CPU_RESERVE = 0.5  # CPUs the actor pool leaves unclaimed, for Ray Data's own tasks
FORWARDED_ENV = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_MAX_ATTEMPTS", "PRODUCT_STUDIO_ORT_THREADS",
)


class RayEngineError(StudioError):
    """The Ray cluster could not be reached or the job failed as a whole (not one file)."""


class FileProcessor:
    """A Ray Data actor: set up once, then ``process_file`` for every row it is given.

    ``__call__`` takes a batch ``{"index", "path", "relative", "kwargs"}`` (kwargs: JSON of the
    ``process_file`` options) and returns ``{"index", "result", "worker"}``; ``result`` is the
    FileResult as JSON (nested dicts travel as text, not as Arrow structs).
    """

    def __init__(self, recipe: dict[str, Any], recipe_hash: str, out_dir: str, *, version: str) -> None:
        from .worker import tune_worker_process

        if version != __version__:
            raise RayEngineError(
                f"this node has product-studio {__version__} but the driver has {version}; install the same version on every node"
            )
        tune_worker_process()
        self.recipe = Recipe.from_dict(recipe)
        if self.recipe.hash != recipe_hash:
            raise RayEngineError("the recipe rebuilt on this node hashes differently from the driver's; install the same version on every node")
        self.out_dir = out_dir
        self.worker = f"{os.uname().nodename}:{os.getpid()}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        from .local import process_file

        indices, results = [], []
        for index, path, relative, kwargs in zip(batch["index"], batch["path"], batch["relative"], batch["kwargs"]):
            options = json.loads(str(kwargs))
            if options.get("limits") is not None:
                options["limits"] = Limits(**options["limits"])
            result = process_file(str(path), str(relative), self.recipe, self.out_dir, **options)
            indices.append(int(index))
            results.append(json.dumps(result.to_dict(), default=str))
        return {
            "index": np.asarray(indices, dtype=np.int64),
            "result": np.asarray(results, dtype=object),
            "worker": np.asarray([self.worker] * len(indices), dtype=object),
        }


def ensure_ray(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Connect to Ray if this process is not connected yet; True when this call started it.

    ``address``: ``None`` starts a local cluster (or joins ``$RAY_ADDRESS`` when set), ``"auto"``
    joins the cluster already running on this machine, ``"ray://host:10001"`` a remote one through
    Ray Client. ``num_cpus`` only applies to a local cluster this call starts.
    """
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address is None and not os.environ.get("RAY_ADDRESS"):
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(address=address or None, **kwargs)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        where = address or os.environ.get("RAY_ADDRESS") or "a new local cluster"
        hint = "is `ray start --head` running there?"
        if os.environ.get("RAY_AUTH_MODE", "").lower() != "token" and (address or os.environ.get("RAY_ADDRESS")):
            # Ray >= 2.5x starts clusters with token authentication; a client without the token
            # only sees "failed to connect" (the reason is in Ray's log lines).
            hint += (" A cluster started with token authentication (the default since Ray 2.5x) also needs"
                     " RAY_AUTH_MODE=token and the head's token file (~/.ray/auth_token, or RAY_AUTH_TOKEN_PATH)")
        raise RayEngineError(f"could not connect to the Ray cluster at {where}: {exc}; {hint}") from None
    return True


def plan_actors(cluster_cpus: float, *, actors: int | None = None, cpus_per_actor: float | None = None) -> tuple[int, float]:
    """How many actors, and how many CPUs each claims: default one per CPU, together leaving
    ``CPU_RESERVE`` CPUs free so Ray Data's other tasks can always be scheduled.

    >>> plan_actors(2)
    (2, 0.75)
    """
    if cluster_cpus <= 0:
        raise RayEngineError("the Ray cluster reports no CPUs; start its nodes with --num-cpus")
    n = actors if actors is not None else max(1, int(cluster_cpus))
    if n < 1:
        raise UsageError(f"actors must be at least 1; got {n}")
    per = cpus_per_actor if cpus_per_actor is not None else min(1.0, (cluster_cpus - CPU_RESERVE) / n)
    per = max(0.05, math.floor(per * 1000) / 1000)
    if per * n > cluster_cpus - 0.1:
        raise UsageError(
            f"{n} actors x {per:g} CPU claim {per * n:g} of the cluster's {cluster_cpus:g} CPUs; leave some free for "
            "Ray Data's own tasks (an actor pool that claims every CPU stalls the job)"
        )
    return n, per


def forwarded_env() -> dict[str, str]:
    """The storage and runtime settings of the driver's environment that the actors should see."""
    return {k: os.environ[k] for k in FORWARDED_ENV if os.environ.get(k)}


class RayRunner:
    """Runs the local engine's jobs on Ray: the ``runner`` that ``local.process_batch`` calls in
    place of its process pool, with the shape of ``local._run_jobs``: ``(jobs, tasks, workers,
    ctx)`` in, ``(index, FileResult)`` out as files finish.

    With a manifest (``ctx``), every task is marked ``running`` (committed) before the Ray job
    starts and each result is recorded by the driver as it arrives: the local engine's protocol, so
    a rerun after a crash adopts or redoes exactly as it would after a local run. If the Ray job
    fails as a whole, the files it did not finish are reported as failed (RayEngineError) but left
    ``running`` in the manifest, so the next run takes them up again.
    """

    def __init__(self, *, actors: int, cpus_per_actor: float, batch_size: int = 1, forward_env: bool = True) -> None:
        self.actors, self.cpus_per_actor, self.batch_size, self.forward_env = actors, cpus_per_actor, batch_size, forward_env

    def __call__(self, jobs: list[tuple], tasks: list[Any], workers: int, ctx: Any) -> Iterator[tuple[int, FileResult]]:
        import ray

        from .local import _prepare, _record

        if not tasks:
            return
        _prepare(tasks, ctx)
        by_index = {task.index: task for task in tasks}
        recipe, out = jobs[tasks[0].index][2], jobs[tasks[0].index][3]
        rows = []
        for task in tasks:
            path, relative, _recipe, _out, kwargs = jobs[task.index]
            options = {**kwargs, "adopt": True} if getattr(task, "adopt", False) else dict(kwargs)
            if options.get("limits") is not None:
                options["limits"] = options["limits"].to_dict()
            rows.append({"index": task.index, "path": str(_absolute(path)), "relative": str(relative),
                         "kwargs": json.dumps(options, default=str)})
        pending = set(by_index)
        try:
            for index, result in _run_dataset(rows, recipe, str(_absolute(out)), min(self.actors, len(rows)),
                                              self.cpus_per_actor, self.batch_size, self.forward_env):
                pending.discard(index)
                _record(by_index[index], result, ctx)
                yield index, result
        except (ray.exceptions.RayError, StudioError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            message = f"the Ray job failed before this file was processed ({type(exc).__name__}: {first_line})"
            for index in sorted(pending):
                path, relative = jobs[index][0], jobs[index][1]
                # Reported, not recorded: the manifest keeps these items ``running``, so the next run
                # judges them as after a crash (adopt a complete output, else redo) instead of
                # remembering a cluster failure as the file's own.
                yield index, FileResult(input=str(path), relative=str(relative), status="failed", error=message, error_type="RayEngineError")


def _run_dataset(rows, recipe, out, n_actors, per_actor, batch_size, forward_env) -> Iterator[tuple[int, FileResult]]:
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    env = forwarded_env() if forward_env else {}
    blocks = min(len(rows), 10_000, max(n_actors, math.ceil(len(rows) / batch_size)))  # small blocks balance the pool
    dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
        FileProcessor,
        fn_constructor_kwargs={"recipe": recipe.model_dump(mode="json"), "recipe_hash": recipe.hash, "out_dir": out, "version": __version__},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=n_actors),
        num_cpus=per_actor,
        runtime_env={"env_vars": env} if env else None,
    )
    for row in dataset.iter_rows():
        yield int(row["index"]), FileResult(**json.loads(row["result"]))


def process_batch_ray(
    inputs: list[InputFile],
    recipe: Recipe,
    out_dir: str | os.PathLike,
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    actors: int | None = None,
    cpus_per_actor: float | None = None,
    batch_size: int = 1,
    forward_env: bool = True,
    shutdown: bool | None = None,
    **batch_options: Any,
) -> BatchReport:
    """Run ``recipe`` over ``inputs`` into ``out_dir`` on Ray; the same BatchReport as ``process_batch``.

    address / num_cpus: see ``ensure_ray`` (a Ray this process is already connected to is used as is).
    actors / cpus_per_actor: the pool (default: one actor per cluster CPU; see ``plan_actors``).
    batch_size: rows per actor call; 1 balances best (an image costs far more than a call).
    ``batch_options`` (overwrite, thumbnails, limits, on_result, manifest, resume, retry_failed,
        budget, command): as ``process_batch``; only the driver writes the manifest, and
        ``on_result`` is called in the driver for every file as it finishes.
    forward_env: give the actors the driver's AWS_* settings (on other nodes they do not inherit the
        driver's environment). Turn off where the nodes have their own credentials.
    shutdown: disconnect at the end; by default only when this call started Ray. A cluster this
        call did not start is never shut down (``ray.shutdown`` only disconnects from it).
    Results are in input order.
    """
    from . import local

    if not inputs:
        raise UsageError("nothing to process: no inputs")
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1; got {batch_size}")
    inputs = [InputFile(_absolute(inp.path), inp.relative) for inp in inputs]
    out = storage.prepare_output_dir(_absolute(out_dir))

    import ray

    started = ensure_ray(address, num_cpus=num_cpus)
    try:
        n_actors, per_actor = plan_actors(ray.cluster_resources().get("CPU", 0.0), actors=actors, cpus_per_actor=cpus_per_actor)
        n_actors = min(n_actors, len(inputs))
        runner = RayRunner(actors=n_actors, cpus_per_actor=per_actor, batch_size=batch_size, forward_env=forward_env)
        return local.process_batch(inputs, recipe, out, workers=n_actors, runner=runner, engine="ray", **batch_options)
    finally:
        if shutdown if shutdown is not None else started:
            ray.shutdown()


def _absolute(path: str | os.PathLike) -> str | Path:
    """Remote URLs as they are; local paths made absolute (actors may run in another folder)."""
    return storage.normalize(path) if storage.is_remote(path) else Path(path).absolute()


def run_from_cli(*args: Any, address: str | None = None, workers: int | None = None, **options: Any) -> BatchReport:
    """What ``product-studio process --engine ray [--address ADDR]`` calls. ``--workers`` is the
    number of actors (default: one per cluster CPU) and, for a local cluster started here, its CPU
    count; ``args`` (inputs, recipe, out_dir) and ``options`` are process_batch's (overwrite, limits,
    on_result, manifest, resume, retry_failed, budget, command)."""
    return process_batch_ray(*args, address=address, num_cpus=workers if address is None else None, actors=workers, **options)


ENGINES = ("local", "ray")


def select_engine(engine: str, address: str | None = None) -> Callable[..., BatchReport]:
    """The batch function ``process --engine ENGINE [--address ADDR]`` runs; it takes the arguments
    of ``local.process_batch``. UsageError for an unknown engine or ``--address`` without Ray."""
    from .local import process_batch

    name = (engine or "local").strip().lower()
    if name not in ENGINES:
        raise UsageError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}")
    if name == "local":
        if address:
            raise UsageError("--address is for --engine ray (the Ray cluster to join)")
        return process_batch
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UsageError("--engine ray needs Ray Data on this machine and every node: pip install 'ray[data]==2.60.0'") from None
    return functools.partial(run_from_cli, address=address)
