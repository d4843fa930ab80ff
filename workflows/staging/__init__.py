"""The one staging engine: raw JSON envelope / JSON Lines / CSV -> typed Parquet + quarantine.

``readers`` turn a raw file into batches of field values with line numbers, ``contract`` is the
entity's JSON Schema compiled into vectorised checks (jsonschema words the rejects), ``columns``
converts to the staged types, ``engine.stage`` runs it all; ``rejects`` holds the one reject
vocabulary every pipeline shares. docs/staging.md and docs/rejects.md describe the rules.
"""
