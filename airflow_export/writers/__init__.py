"""The writers: rows in, files out, no Airflow imported.

``frame/`` is what every format shares (options base, file series, atomic output, result);
``csv/`` and ``pdf/`` are the formats (their options and rendering); ``values/`` the text form of
every value; ``rows.py`` row normalisation; ``encoding.py`` the policy for text no file can hold.
Formats and options: docs/formats.md.
"""
