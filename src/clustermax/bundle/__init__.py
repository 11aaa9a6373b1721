"""Bundles on disk and bundles made from evidence: read, write, build from files, re-parse.

* :mod:`.io`: ``load_bundle`` (bundle.json or its directory, schema-version checked) and
  ``write_bundle`` (atomic) -- the only code that reads or writes bundle.json;
* :mod:`.from_files`: ``import_files`` (``clustermax import``: tool outputs gathered by hand -> a bundle)
  and ``reparse_import_commands``;
* :mod:`.reparse`: ``reparse_bundle`` (``clustermax score --reparse``: every result re-derived from the
  bundle's raw outputs with today's parsers).

This package imports nothing at package level, so reading a bundle does not load the probe modules.
"""
