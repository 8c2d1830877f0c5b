"""G for Python: a 256 MiB float64 array handed to a task that doubles it and returns it, through a Pool
(pickled both ways) or a shared_memory block doubled in place (warm calls), in this fresh process; prints
the milliseconds of each warm call and the peak RSS of this process and of its children, as JSON."""
import json
import resource
import sys
import time
from multiprocessing import get_context, shared_memory

import numpy as np


def double(values):
    return values * 2.0


def double_in_place(name, length):
    block = shared_memory.SharedMemory(name=name)
    try:
        values = np.ndarray((length,), dtype=np.float64, buffer=block.buf)
        values *= 2.0
        del values
    finally:
        block.close()


def option(name, default):
    args = sys.argv[1:]
    return args[args.index(f"--{name}") + 1] if f"--{name}" in args else default


def main():
    variant = option("variant", "python-pool")
    length = int(option("bytes", str(256 * 2**20))) // 8
    calls = int(option("calls", "3"))
    data = np.arange(length, dtype=np.float64)
    times = []
    with get_context("spawn").Pool(2) as pool:
        pool.apply(int, (0,))
        if variant == "python-pool":
            for i in range(calls + 1):
                start = time.perf_counter()
                result = pool.apply(double, (data,))
                elapsed = (time.perf_counter() - start) * 1000
                assert result[-1] == 2 * (length - 1)
                if i > 0:
                    times.append(elapsed)
        else:
            block = shared_memory.SharedMemory(create=True, size=length * 8)
            try:
                view = np.ndarray((length,), dtype=np.float64, buffer=block.buf)
                view[:] = data
                for i in range(calls + 1):
                    start = time.perf_counter()
                    pool.apply(double_in_place, (block.name, length))
                    elapsed = (time.perf_counter() - start) * 1000
                    if i > 0:
                        times.append(elapsed)
                assert view[1] == 2 ** (calls + 1)
                del view
            finally:
                block.close()
                block.unlink()
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(json.dumps({"ms": times, "parentPeak": parent, "childPeak": children}))


if __name__ == "__main__":
    main()
