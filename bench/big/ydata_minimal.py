#!/usr/bin/env python3
"""ydata-profiling in minimal mode on one file, the peer of issue 7's
"at least 20x faster than ydata-profiling" target: pandas reads the file,
ProfileReport(minimal=True) computes the profile, to_json() renders it (the
same work a report needs). Prints one JSON line with the time and peak RSS.

    python3 bench/big/ydata_minimal.py FILE.csv|FILE.jsonl
"""
import json
import resource
import sys
import time
import warnings


def main():
    if len(sys.argv) != 2:
        print("usage: ydata_minimal.py FILE", file=sys.stderr)
        return 2
    path = sys.argv[1]
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    import pandas as pd
    from ydata_profiling import ProfileReport

    if path.endswith((".jsonl", ".ndjson")):
        frame = pd.read_json(path, lines=True)
    else:
        frame = pd.read_csv(path, low_memory=False)
    report = ProfileReport(frame, minimal=True, progress_bar=False)
    text = report.to_json()
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "tool": "ydata-profiling minimal",
        "seconds": round(seconds, 3),
        "rows": int(len(frame)),
        "report_bytes": len(text),
        "peak_rss_bytes": peak_kb * 1024,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
