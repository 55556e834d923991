"""The engine: drives a sweep's stages over (config, seed) pairs, each run exactly once.

`driver` (the stages), its racing, dispatch, recording and run_files parts, `scheduler` (seeds per config),
`queue`, `session` (the lock and the session's device), `sharing` (one training, many evaluations),
`artifacts` and `repair` (the run folders and runs.jsonl), `exclusion` and `plan`.
"""
