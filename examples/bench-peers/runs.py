"""The bench-peers scripts' record of runs: one `LABEL NAME OPS_PER_SEC CPU_US_PER_OP`
line per workload of each run (lines of another shape, such as the Java client's
`LABEL NAME OPS_PER_SEC`, are left out)."""
import statistics


def load(path):
    """{(label, workload): [(ops_per_sec, cpu_us_per_op), ...]} in the order run."""
    runs = {}
    for line in open(path):
        f = line.split()
        if len(f) == 4:
            runs.setdefault((f[0], f[1]), []).append((float(f[2]), float(f[3])))
    return runs


def med(xs, i):
    """The median of field i (0: ops/s, 1: CPU us/op) over the runs xs."""
    return statistics.median(x[i] for x in xs)
