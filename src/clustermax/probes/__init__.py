"""One module per probe id: the parse stage, from a probe's raw output to measurements and findings.

``clustermax/probes/<id>.py`` reads the sections printed by ``probes/<id>/run.sh`` with the tool parsers
(``from_sections``) and maps typed tool output to metrics (``measure``), the only mapping, used by an
audit, by ``clustermax import`` (its ``FILES``) and by ``--reparse`` alike. :mod:`.registry` lists the
modules (typed); :mod:`.base` is their contract; :mod:`.specs` loads ``probes/<id>/probe.yaml``;
:mod:`.result` turns a run's raw commands into its ProbeResult; :mod:`.derive` adds the cluster-scope
results computed from several hosts.

This package imports nothing at package level (``clustermax --help`` never loads the probe modules).
"""
