"""One measurement of Python's process pools, in a process of its own (the Python side of bench/measure.ts).

    python3 pools.py '<MeasureSpec as JSON>'     one workload, once, against a fresh pool
    python3 pools.py --calibrate <ms>            iterations of the CPU task that take <ms> here

Peers: python-pool (multiprocessing.Pool), python-executor (concurrent.futures.ProcessPoolExecutor),
python-serial (the work in this process, one task after another: the reference for B's speedup).
The outcome is printed as JSON on a line that starts with RESULT_MARKER, in the shape of bench/types.ts.
"""
import json
import multiprocessing
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor

import tasks

RESULT_MARKER = "@@forkpool-bench "
MiB = 1024 * 1024
WARM_UP_SETTLE_S = 0.1
MAP_WARM_UP_FRACTION = 10


# --- Memory, from /proc as in bench/memory.ts ----------------------------------------------------------

def status_mib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class MemoryProbe:
    def begin(self):
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
            self.peak_tracked = True
        except OSError:
            self.peak_tracked = False
        self.base = status_mib("self", "VmRSS")

    def end(self, pids):
        children = []
        for pid in pids:
            rss, peak = status_mib(pid, "VmRSS"), status_mib(pid, "VmHWM")
            if rss is not None and peak is not None:
                children.append({"pid": pid, "rssMiB": rss, "peakMiB": peak})
        return {
            "parentBaseMiB": self.base,
            "parentPeakMiB": status_mib("self", "VmHWM") if self.peak_tracked else None,
            "parentEndMiB": status_mib("self", "VmRSS"),
            "children": children,
        }


# --- The pools behind one interface --------------------------------------------------------------------

class PoolUnderTest:
    """multiprocessing.Pool: calls through apply_async, maps through map."""

    def __init__(self, workers, context):
        self.pool = context.Pool(workers)

    def call_all(self, fn, args):
        pending = [self.pool.apply_async(fn, (arg,)) for arg in args]
        return [result.get() for result in pending]

    def submit(self, fn, arg):
        """One call, without waiting: returns what waits for its result."""
        return self.pool.apply_async(fn, (arg,)).get

    def call_all_timed(self, fn, args):
        start = time.perf_counter()
        pending = [self.pool.apply_async(fn, (arg,)) for arg in args]
        submitted = time.perf_counter()
        return [result.get() for result in pending], submitted - start

    def map(self, fn, items, chunksize):
        return self.pool.map(fn, items) if chunksize is None else self.pool.map(fn, items, chunksize=chunksize)

    def pids(self):
        return [process.pid for process in self.pool._pool]

    def close(self):
        self.pool.close()
        self.pool.join()


class ExecutorUnderTest:
    """concurrent.futures.ProcessPoolExecutor: calls through submit."""

    def __init__(self, workers, context):
        self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def submit(self, fn, arg):
        return self.executor.submit(fn, arg).result

    def call_all_timed(self, fn, args):
        start = time.perf_counter()
        futures = [self.executor.submit(fn, arg) for arg in args]
        submitted = time.perf_counter()
        return [future.result() for future in futures], submitted - start

    def call_all(self, fn, args):
        return self.call_all_timed(fn, args)[0]

    map = None

    def pids(self):
        return list(self.executor._processes or {})

    def close(self):
        self.executor.shutdown(wait=True)


class SerialUnderTest:
    """No pool: every call runs here, one after another."""

    def __init__(self, workers, context):
        pass

    def call_all_timed(self, fn, args):
        return [fn(arg) for arg in args], 0.0

    def call_all(self, fn, args):
        return [fn(arg) for arg in args]

    def map(self, fn, items, chunksize):
        return [fn(item) for item in items]

    def pids(self):
        return []

    def close(self):
        pass


PEERS = {"python-pool": PoolUnderTest, "python-executor": ExecutorUnderTest, "python-serial": SerialUnderTest}


def warm_up(pool, workers):
    pool.call_all(tasks.tiny, range(2 * workers))
    time.sleep(WARM_UP_SETTLE_S)


# --- Workloads, as in bench/workloads/ -----------------------------------------------------------------

def tiny_calls(pool, spec, probe):
    n = spec["sizes"]["tinyCalls"]
    start = time.perf_counter()
    results, submit = pool.call_all_timed(tasks.tiny, range(n))
    elapsed = time.perf_counter() - start
    memory = probe.end(pool.pids())
    if sum(results) != n * (n + 1) // 2:
        raise AssertionError("wrong results")
    return {"value": n / elapsed, "phases": {"submit": submit * 1000, "total": elapsed * 1000}, "memory": memory}


FULL_MAPS_BEFORE_WARM_RUN = 3  # as bench/config.ts


def map_workload(chunksize, full_maps_before=0):
    def run(pool, spec, probe):
        if pool.map is None:
            raise NotImplementedError("no map with chunks in this pool")
        n = spec["sizes"]["mapItems"]
        items = list(range(n))
        pool.map(tasks.tiny, items[: -(-n // MAP_WARM_UP_FRACTION)], chunksize)  # as bench/workloads/map.ts
        for _ in range(full_maps_before):
            pool.map(tasks.tiny, items, chunksize)
        start = time.perf_counter()
        results = pool.map(tasks.tiny, items, chunksize)
        elapsed = time.perf_counter() - start
        memory = probe.end(pool.pids())
        if results != [i + 1 for i in items]:
            raise AssertionError("wrong results")
        return {"value": n / elapsed, "phases": {"total": elapsed * 1000}, "memory": memory}
    return run


def cpu_tasks(pool, spec, probe):
    start = time.perf_counter()
    results = pool.call_all(tasks.cpu, [spec["cpuIterations"]] * spec["sizes"]["cpuTasks"])
    elapsed = (time.perf_counter() - start) * 1000
    if len(set(results)) != 1:
        raise AssertionError("wrong results")
    return {"value": elapsed, "phases": {"total": elapsed}}


def echoes(pool, spec, probe):
    sizes = spec["sizes"]
    payload = bytes(i % 251 for i in range(sizes["echoBytes"]))
    start = time.perf_counter()
    results, submit = pool.call_all_timed(tasks.echo, [payload] * sizes["echoes"])
    elapsed = time.perf_counter() - start
    memory = probe.end(pool.pids())
    if any(result != payload for result in results):
        raise AssertionError("echoes came back altered")
    mib = sizes["echoes"] * sizes["echoBytes"] / MiB
    return {"value": mib / elapsed, "phases": {"submit": submit * 1000, "total": elapsed * 1000}, "memory": memory}


def head_of_line(pool, spec, probe):
    """F: a warm pool that served tiny calls; one long CPU task, then many short ones (as head-of-line.ts)."""
    sizes = spec["sizes"]
    per_ms = spec["cpuIterations"] / sizes["cpuTaskMs"]
    long_task = round(per_ms * sizes["headLongMs"])
    short_task = round(per_ms * sizes["headShortMs"])
    pool.call_all(tasks.tiny, range(TINY_CALLS_PER_WORKER * sizes["workers"]))
    start = time.perf_counter()
    long_result = pool.submit(tasks.cpu, long_task)
    shorts = pool.call_all(tasks.cpu, [short_task] * (sizes["headShortsPerWorker"] * sizes["workers"]))
    elapsed = (time.perf_counter() - start) * 1000
    long_result()
    if len(set(shorts)) != 1:
        raise AssertionError("wrong results")
    return {"value": elapsed, "phases": {"total": elapsed}}


TINY_CALLS_PER_WORKER = 1000  # as bench/workloads/head-of-line.ts


def idle(pool, spec, probe):
    time.sleep(spec["sizes"]["idleSettleMs"] / 1000)
    memory = probe.end(pool.pids())
    children = sum(child["rssMiB"] for child in memory["children"])
    growth = (memory["parentEndMiB"] or 0) - (memory["parentBaseMiB"] or 0)
    return {"value": children + max(0.0, growth), "memory": memory}


WORKLOADS = {
    "A-call": tiny_calls,
    "A-map1": map_workload(1),
    "A-map": map_workload(None),
    "A-map-warm": map_workload(None, FULL_MAPS_BEFORE_WARM_RUN),
    "B": cpu_tasks,
    "C": echoes,
    "F": head_of_line,
    "idle": idle,
}


def startup(spec):
    """D: create a pool and wait for the result of one tiny call."""
    cls = PEERS[spec["peer"]]
    context = multiprocessing.get_context(spec.get("startMethod") or "spawn")
    start = time.perf_counter()
    pool = cls(spec["sizes"]["workers"], context)
    created = time.perf_counter()
    try:
        result = pool.call_all(tasks.tiny, [1])[0]
        end = time.perf_counter()
    finally:
        pool.close()
    if result != 2:
        raise AssertionError("wrong result")
    return {"value": (end - start) * 1000, "phases": {"create": (created - start) * 1000, "total": (end - start) * 1000}}


def coarse_map(spec):
    """E: a fresh pool, one CPU task of coarseTaskMs per worker, in one map: from the constructor to the last result."""
    sizes = spec["sizes"]
    iterations = round(spec["cpuIterations"] * sizes["coarseTaskMs"] / sizes["cpuTaskMs"])
    context = multiprocessing.get_context(spec.get("startMethod") or "spawn")
    start = time.perf_counter()
    pool = PEERS[spec["peer"]](sizes["workers"], context)
    try:
        items = [iterations] * sizes["workers"]
        results = pool.map(tasks.cpu, items, None) if pool.map is not None else pool.call_all(tasks.cpu, items)
        elapsed = (time.perf_counter() - start) * 1000
    finally:
        pool.close()
    if len(set(results)) != 1:
        raise AssertionError("wrong results")
    return {"value": elapsed, "phases": {"total": elapsed}}


def measure(spec):
    if spec["workload"] == "D":
        return startup(spec)
    if spec["workload"] == "E":
        return coarse_map(spec)
    run = WORKLOADS.get(spec["workload"])
    if run is None:
        raise NotImplementedError(f"workload {spec['workload']} is not implemented for Python")
    probe = MemoryProbe()
    probe.begin()
    context = multiprocessing.get_context(spec.get("startMethod") or "spawn")
    workers = spec["sizes"]["workers"]
    pool = PEERS[spec["peer"]](workers, context)
    try:
        warm_up(pool, workers)
        return run(pool, spec, probe)
    finally:
        pool.close()


def calibrate(target_ms):
    """Iterations of tasks.cpu that take target_ms here, from the fastest of a few timings (as in cpu.ts)."""
    iterations, per_ms = 50_000, []
    for round_ in range(6):
        start = time.perf_counter()
        tasks.cpu(iterations)
        elapsed = max((time.perf_counter() - start) * 1000, 0.01)
        if round_ > 0:  # the first, short timing only sizes the others
            per_ms.append(iterations / elapsed)
        iterations = max(10_000, round(iterations / elapsed * target_ms))
    return round(max(per_ms) * target_ms)


def main(args):
    try:
        if args[0] == "--calibrate":
            outcome = {"ok": True, "value": calibrate(float(args[1]))}
        else:
            outcome = {"ok": True, **measure(json.loads(args[0]))}
    except Exception:
        outcome = {"ok": False, "error": traceback.format_exc()}
    sys.stdout.write(RESULT_MARKER + json.dumps(outcome) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
