"""Runs: the durable workflow, its steps by kind, and the services they are given.

`services` is built once per process at the edge (the CLI, a test, later the
web server) and handed to `workflow.RunWorkflow`; nothing here reaches for
process-global state.
"""
