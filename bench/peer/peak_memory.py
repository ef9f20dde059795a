"""The peak resident memory of this process, as the peer harness reports it for each quantizer."""


def peak_rss_bytes() -> int:
    """VmHWM of this address space. wait4's ru_maxrss would also count the harness that spawned
    the process (Linux carries a parent's peak into the child's across exec)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
