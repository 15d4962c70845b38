"""`python -m bench` runs every benchmark in turn (`make bench`)."""

import asyncio
import importlib
import sys

BENCHMARKS = ["bench.interview_step", "bench.sweep_digest", "bench.slack_ack", "bench.matrix_reply", "bench.app_home",
              "bench.register_export", "bench.chaos"]

for name in sys.argv[1:] or BENCHMARKS:
    module = importlib.import_module(name if name.startswith("bench.") else f"bench.{name}")
    asyncio.run(module.main())
    print()
