"""The ``ganlens`` subcommands: each a settings dataclass and a function that runs it.

Settings modules import only the standard library at module level, so building ``--help`` stays
fast; the work (torch, Lightning, the report) is imported when a command runs.
"""
