"""CPython baselines of bench/ipc.bench.ts: multiprocessing.Queue, Pipe, Manager().Lock() and Lock.

Same shapes as the wharf side: a child writes N small ints to a Queue that the parent reads (timed from the
first item to the last); the parent sends to a child that echoes over a Pipe (timed after a warm-up); two
children acquire and release one lock N times each after meeting at a Barrier (ops = 2N / the slower one's
time). Prints one JSON object of ops/s. Standard library only.
"""
import json
import multiprocessing as mp
import sys
import time


def writer(q, n):
    for i in range(n):
        q.put(i)
    q.put(None)


def queue_items_per_s(n):
    q = mp.Queue()
    p = mp.Process(target=writer, args=(q, n))
    p.start()
    q.get()
    t = time.perf_counter()
    count = 0
    while q.get() is not None:
        count += 1
    rate = count / (time.perf_counter() - t)
    p.join()
    return rate


def echo(conn):
    while True:
        m = conn.recv()
        if m is None:
            break
        conn.send(m)


def pipe_round_trips_per_s(n):
    a, b = mp.Pipe()
    p = mp.Process(target=echo, args=(b,))
    p.start()
    for i in range(200):
        a.send(i)
        a.recv()
    t = time.perf_counter()
    for i in range(n):
        a.send(i)
        a.recv()
    rate = n / (time.perf_counter() - t)
    a.send(None)
    p.join()
    return rate


def lock_loop(barrier, lock, n, out):
    barrier.wait()
    t = time.perf_counter()
    for _ in range(n):
        lock.acquire()
        lock.release()
    out.put(time.perf_counter() - t)


def lock_cycles_per_s(lock, n):
    barrier = mp.Barrier(2)
    out = mp.Queue()
    ps = [mp.Process(target=lock_loop, args=(barrier, lock, n, out)) for _ in range(2)]
    for p in ps:
        p.start()
    slowest = max(out.get(), out.get())
    for p in ps:
        p.join()
    return 2 * n / slowest


if __name__ == "__main__":
    queue_n, pipe_n, manager_n, lock_n = (int(x) for x in sys.argv[1:5])
    result = {"queue": queue_items_per_s(queue_n), "pipe": pipe_round_trips_per_s(pipe_n)}
    with mp.Manager() as manager:
        result["managerLock"] = lock_cycles_per_s(manager.Lock(), manager_n)
    result["mpLock"] = lock_cycles_per_s(mp.Lock(), lock_n)
    print(json.dumps(result))
