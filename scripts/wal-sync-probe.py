#!/usr/bin/env python3
"""What a WAL sync costs on this disk: one 4 KiB pwrite + fdatasync per sync, appending to a growing file
against overwriting blocks already written with zeros (what the WAL's preallocation does), with and without
O_DIRECT. Prints wall time and this process's CPU time per sync.
Usage: scripts/wal-sync-probe.py [DIR] [SYNCS]      (default: ./data, 3000)"""
import mmap
import os
import sys
import time

directory = sys.argv[1] if len(sys.argv) > 1 else "data"
syncs = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
os.makedirs(directory, exist_ok=True)
path = os.path.join(directory, "wal-sync-probe.tmp")
sector = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT needs
sector.write(b"x" * 4096)
zeros = mmap.mmap(-1, 1 << 20)


def probe(direct, preallocated):
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if direct else 0)
    fd = os.open(path, flags, 0o644)
    try:
        if preallocated:
            for i in range((syncs * 4096 >> 20) + 1):
                os.pwrite(fd, zeros, i << 20)
            os.fsync(fd)
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(syncs):
            os.pwrite(fd, sector, i * 4096)
            os.fdatasync(fd)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        os.close(fd)
        os.unlink(path)
    mode = ("O_DIRECT" if direct else "buffered") + (", over written zeros" if preallocated else ", appending")
    print(f"{mode:32s} {wall / syncs * 1e6:7.1f} us per sync, {cpu / syncs * 1e6:6.1f} us CPU")


for _ in range(2):
    for direct in (True, False):
        for preallocated in (False, True):
            probe(direct, preallocated)
