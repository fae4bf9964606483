"""Register loader: read DST-style project folders of register files.

Open a project folder, see what is there, read register-years with normalised
names, convert SAS files to a Parquet cache once, and build person-year panels.
See ``docs/registers.md`` for the guide.

>>> import kit.registers as registers
>>> callable(registers.open), registers.open is registers.open_project
(True, True)

Main entry points:

- :func:`open` / :func:`open_project` -> :class:`Project`
- :meth:`Project.read` / :meth:`Project.read_years` -> :class:`RegisterFrame`
  (``data``, ``schema`` with key columns marked, ``sources``)
- :meth:`Project.source` -> :class:`Source` (which file was taken and why)
- :meth:`Project.convert` -> :class:`ConversionReport`
- :func:`build_panel` -> :class:`RegisterFrame` of persons x years
- :func:`scan` -> a lazy, DuckDB-backed :class:`Relation` over Parquet files (the ``scale`` extra)
"""

from kit.registers.cache import ConversionReport
from kit.registers.discover import FileFormat, RegisterFile, parse_delivery_date, parse_file_name
from kit.registers.filters import Condition
from kit.registers.frames import RegisterFrame, Source, infer_schema
from kit.registers.lazy import Relation, scan
from kit.registers.names import NameMap
from kit.registers.panel import build_panel
from kit.registers.project import Project, open_project

#: ``kit.registers.open(path)``: the same as :func:`open_project`.
open = open_project

__all__ = [
    "Condition",
    "ConversionReport",
    "FileFormat",
    "NameMap",
    "Project",
    "RegisterFile",
    "RegisterFrame",
    "Relation",
    "Source",
    "build_panel",
    "infer_schema",
    "open",
    "open_project",
    "parse_delivery_date",
    "parse_file_name",
    "scan",
]
