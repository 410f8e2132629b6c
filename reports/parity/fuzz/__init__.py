"""The fuzzer: generated networks judged like the configuration matrix, each disagreement shrunk
to a minimal network, deduplicated, and written as a standalone repro.

``netspec``  a network as plain data (:class:`~.netspec.NetSpec`), drawn from the reference's own
             layers and options, and its parity case (``net_case``)
``judge``    the matrix's records of one network -> observations: findings by kind, or decisions
             that flip at a near-tie (expected at this precision), with their evidence
``shrink``   delta debugging of a network that shows a finding, keeping its signature
``engine``   the run: budget, configurations, progress, throughput, deduplication (``fuzz``)
``oracle_np`` the NumPy float64 oracle that a repro carries (complex-step gradients)
``repro``    the standalone repro script of a finding (torch and NumPy only, < 100 lines)
``results``  the results file (``fuzz.json``): written by a run, read by the report (no torch)

The package imports nothing on its own: each module is imported by name (``results`` is read
by the report, which must not import torch for it).
"""
