"""The peer of bench.federation: Hive Gateway over the same simulated CKAN platforms."""
