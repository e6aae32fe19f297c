"""The Evidence site, outside Dagster so the CLI, the asset and the tests share it.

``npm`` keeps Evidence's Node packages at the committed lockfile, ``build`` exports a warehouse
snapshot and builds the static site, ``serve`` serves a built site with the byte ranges
DuckDB-WASM needs.
"""
