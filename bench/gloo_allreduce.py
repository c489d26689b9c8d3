#!/usr/bin/python3
"""PyTorch gloo all_reduce timings: the peer side of `bench/run ring-vs-gloo`.

Started by RingVsGlooBench (src/bench/java/io/sparkner/bench), once per round and rank count:

    /usr/bin/python3 bench/gloo_allreduce.py --ranks N --sizes-bytes S1,S2,... --warmup W --ops K

starts N worker processes (this script with --worker), which form a gloo process group as
torch.distributed does for DDP on CPU (a TCPStore on 127.0.0.1, port chosen by the kernel, and
init_process_group("gloo", ...) with its defaults), and prints one JSON object on stdout: per
rank and size the start (after a barrier) and end of every timed all_reduce, in CLOCK_MONOTONIC
nanoseconds (the clock System.nanoTime reads on Linux), and CPU accounting of the timed block.

Every rank fills its tensor before each all_reduce with rank + 1 + ((i + op) mod 8) and checks
after it that element i holds the exact sum n(n+1)/2 + n((i + op) mod 8): a fast wrong result
fails the run. Each worker exits when its standard input (a pipe from the launcher) reaches end of file, and so
does the launcher with --exit-on-stdin-eof (as the benchmark starts it): the processes end with
the benchmark that started them, whatever way it ends.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

TICK = 0.01  # USER_HZ


def machine_ticks():
    """(busy, steal) ticks of the whole machine from /proc/stat, as BenchEnv.Cpu reads them."""
    try:
        with open("/proc/stat") as f:
            v = f.readline().split()
        busy = int(v[1]) + int(v[2]) + int(v[3]) + int(v[6]) + int(v[7])
        return busy, int(v[8]) if len(v) > 8 else 0
    except (OSError, ValueError, IndexError):
        return -1, -1


def exit_on_stdin_eof():
    """Ends this process when the parent's end of our stdin closes (the parent ended)."""

    def watch():
        try:
            while os.read(0, 4096):  # the raw descriptor: no buffer lock held at shutdown
                pass
        except OSError:
            pass
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def worker(args):
    exit_on_stdin_eof()
    import datetime

    import torch
    import torch.distributed as dist

    n = args.ranks
    rank = args.worker
    sizes = [int(s) for s in args.sizes_bytes.split(",")]
    timeout = datetime.timedelta(seconds=args.timeout)
    store = dist.TCPStore("127.0.0.1", args.port, n, False, timeout=timeout)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=n, timeout=timeout)
    largest = max(sizes) // 4
    buf = torch.empty(largest, dtype=torch.float32)
    lane = torch.arange(8, dtype=torch.float32)

    def one(size, op):
        """Fill, barrier, one timed all_reduce ([start, end] ns), check."""
        rows = buf[: size // 4].view(-1, 8)
        shift = torch.remainder(lane + op, 8)
        rows.copy_((shift + (rank + 1)).expand_as(rows))
        dist.barrier()
        t0 = time.monotonic_ns()
        dist.all_reduce(buf[: size // 4])
        t1 = time.monotonic_ns()
        want = (shift * n + n * (n + 1) / 2).expand_as(rows)
        if not torch.equal(rows, want):
            bad = (rows != want).nonzero()[0].tolist()
            raise SystemExit(
                "rank %d: wrong all_reduce result at element %d of %d bytes: %r, want %r"
                % (rank, bad[0] * 8 + bad[1], size, rows[bad[0], bad[1]].item(), want[bad[0], bad[1]].item())
            )
        return [t0, t1]

    # first the warm-up all-reduces of every size, then the timed ones (as the Java side)
    for size in sizes:
        for op in range(args.warmup):
            one(size, op)
    results = []
    for size in sizes:
        cpu0 = time.process_time()
        busy0, steal0 = machine_ticks()
        wall0 = time.monotonic_ns()
        ops = [one(size, op) for op in range(args.warmup, args.warmup + args.ops)]
        wall1 = time.monotonic_ns()
        busy1, steal1 = machine_ticks()
        cpu1 = time.process_time()
        results.append(
            {
                "bytes": size,
                "ops": ops,
                "cpu": {
                    "seconds": (wall1 - wall0) / 1e9,
                    "process_cpu_s": cpu1 - cpu0,
                    "machine_busy_s": (busy1 - busy0) * TICK if busy0 >= 0 else -1,
                    "steal_s": (steal1 - steal0) * TICK if steal0 >= 0 else -1,
                },
            }
        )
    dist.barrier()
    dist.destroy_process_group()
    print(
        json.dumps(
            {
                "rank": rank,
                "pid": os.getpid(),
                "torch": torch.__version__,
                "torch_num_threads": torch.get_num_threads(),
                "sizes": results,
            }
        ),
        flush=True,
    )


def launcher(args):
    if args.exit_on_stdin_eof:
        exit_on_stdin_eof()
    import datetime

    import torch.distributed as dist

    # the rendezvous store, on a port the kernel picks (two runs cannot collide); the workers
    # connect to it as torchrun's do to MASTER_ADDR:MASTER_PORT
    store = dist.TCPStore(
        "127.0.0.1",
        0,
        args.ranks,
        True,
        timeout=datetime.timedelta(seconds=args.timeout),
        wait_for_workers=False,
    )
    env = dict(os.environ)
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    procs = []
    try:
        for r in range(args.ranks):
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(r), "--port", str(store.port)]
            for k in ("ranks", "sizes_bytes", "warmup", "ops", "timeout"):
                cmd += ["--" + k.replace("_", "-"), str(getattr(args, k))]
            procs.append(
                subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            )
        # read each worker's output on a thread of its own; its stdin stays open meanwhile
        got = [None] * len(procs)

        def read(r):
            got[r] = procs[r].stdout.read()

        readers = [threading.Thread(target=read, args=(r,), daemon=True) for r in range(len(procs))]
        for t in readers:
            t.start()
        deadline = time.monotonic() + args.timeout
        outs = []
        for r, p in enumerate(procs):
            readers[r].join(max(0.0, deadline - time.monotonic()))
            if readers[r].is_alive():
                raise SystemExit("gloo rank %d did not finish within %d s" % (r, args.timeout))
            code = p.wait(max(1.0, deadline - time.monotonic()))
            if code != 0:
                raise SystemExit("gloo rank %d failed with exit code %d" % (r, code))
            outs.append(json.loads(got[r].decode().strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
            p.stdin.close()
    print(
        json.dumps(
            {
                "backend": "gloo",
                "gloo_socket_ifname": env["GLOO_SOCKET_IFNAME"],
                "python": sys.version.split()[0],
                "ranks": outs,
            }
        ),
        flush=True,
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ranks", type=int, required=True)
    p.add_argument("--sizes-bytes", required=True, help="comma-separated, multiples of 32")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--ops", type=int, default=3)
    p.add_argument("--timeout", type=int, default=600, help="seconds")
    p.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="end (with the workers) when standard input closes: how the benchmark starts it",
    )
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    for s in args.sizes_bytes.split(","):
        if int(s) <= 0 or int(s) % 32:
            p.error("--sizes-bytes: %s is not a positive multiple of 32" % s)
    if args.ranks < 2 or args.ops < 1 or args.warmup < 0:
        p.error("--ranks must be >= 2, --ops >= 1, --warmup >= 0")
    if args.worker is None:
        launcher(args)
    else:
        worker(args)


if __name__ == "__main__":
    main()
