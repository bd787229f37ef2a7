# Starts the bqemulator CLI without DuckDB's `spatial` extension, which it would download at start-up (and so
# fail offline); CallFeed uses no GEOGRAPHY. Arguments as for `bqemulator`: see scripts/services/bigquery.sh.
import bqemulator.cli, bqemulator.storage.engine as engine
engine.DuckDBEngine._load_spatial = lambda self: None
bqemulator.cli.main()
