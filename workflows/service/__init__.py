"""The service layer: what crewgate does, as functions the CLI and the HTTP API both call.

`runs` starts, lists, shows, traces, cancels and continues runs; `reviews` lists,
shows and decides review items; `runbooks` validates, registers and shows
runbook versions. They return the frozen values in `views`, never dicts, and
raise `CrewgateError`s that carry their exit code. Commands only parse and print.

The CLI and the web import only this layer (a contract of `make lint`): a function
takes the process's `RunServices` (built by `run_services.open_services`), or, in a
command that builds none, the database's URL (`database`: None is this crewgate home's).
"""
