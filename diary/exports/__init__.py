"""CSV exports for statisticians: long, wide, treatment means, the long analysis file, data
dictionary, manifest.

The rows are written by PostgreSQL itself (COPY (SELECT ...) TO STDOUT WITH CSV) and streamed
in blocks, so memory stays flat whatever the size of the study.
"""
