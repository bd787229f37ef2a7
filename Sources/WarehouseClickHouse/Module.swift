// WarehouseClickHouse: see the sink's own files in this folder.
