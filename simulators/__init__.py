"""Simulated department platforms (CKAN, Socrata, OpenDataSoft, DCAT-AP, data.json, REST) and the
demo city catalogue of Hexi. Used by the demo command, the tests and bench/; not part of the
gateway's serving code, and importing nothing of it."""
