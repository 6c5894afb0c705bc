"""N simulated CKAN platforms with a chosen latency, in their own process.

    python -m bench.ckan_upstreams --sources 8 --latency-ms 50

prints ``READY <json list of base URLs>``. Each serves one of the demo platforms'
catalogues (cycled), speaking the real CKAN Action API, with a fixed added latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from simulators.catalogue import build_city_catalogue
from simulators.ckan_sim import Fault
from simulators.platforms import DEMO_PLATFORMS, PlatformSpec, running_platforms


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    city = build_city_catalogue()
    specs = [
        PlatformSpec(
            f"source-{i}",
            city.platforms[DEMO_PLATFORMS[i % len(DEMO_PLATFORMS)]],
            fault=Fault(latency_ms=args.latency_ms),
        )
        for i in range(args.sources)
    ]
    async with running_platforms(specs) as servers:
        print("READY", json.dumps([s.url for s in servers.values()]), flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
