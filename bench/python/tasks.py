"""The tasks Python's pools run: the same work as bench/tasks/tasks.js."""
import time


def tiny(x):
    """A: as little work as a task can be."""
    return x + 1


def cpu(iterations):
    """B: a fixed amount of CPU work (the same linear congruential generator as tasks.js)."""
    x = 1
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def echo(value):
    """C: send the argument back."""
    return value


def sleep(ms):
    time.sleep(ms / 1000)
    return ms
