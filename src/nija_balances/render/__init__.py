"""Turn one `Portfolio` into every output: the table, the JSON document, the live view."""
