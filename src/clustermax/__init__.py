"""clustermax: audit rented GPU clusters, score them against a rubric, write reports.

clustermax is an independent project. It is not affiliated with SemiAnalysis, whose
ClusterMAX rating inspired it.
"""

__version__ = "0.1.0"
