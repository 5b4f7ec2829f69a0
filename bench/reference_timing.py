"""The timing loop the PyTorch reference scripts share: a few warm-up calls, then as many calls as
fit in `seconds` (at least one). Returns (seconds per call, number of timed calls)."""
import time


def seconds_per_call(call, seconds, warmup=2):
    for _ in range(warmup):
        call()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or n == 0:
        call()
        n += 1
    return (time.perf_counter() - start) / n, n
