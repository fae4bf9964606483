"""Tables made elsewhere (SAS, R, Stata): read, validate and check them under a rule set.

:mod:`kit.external.table_input` reads and validates the CSV; :mod:`kit.external.check` assesses
it, protects it (secondary suppression through :mod:`kit.protect.bridge`) and reports.
The command is ``kit check`` (:mod:`kit.cli.check`).
"""
