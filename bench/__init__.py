"""The benchmark: throughput and latency of the service's hot paths against a running service
(or one it starts), next to the same server's floor, and the calls each operation makes.

    make bench                                    # starts `make run`'s server, embedded engine
    .venv/bin/python -m bench --url URL --key KEY # any running deployment

See docs/benchmarks.md."""
