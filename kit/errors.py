"""Error types of the kit.

Every error a user can cause derives from :class:`KitError`. A message says
*what* was asked, *why* it cannot be done and *how* to fix it. It never
contains a data value: only counts of affected cells, names of columns, rules,
files and options. Code that formats a message must therefore never interpolate
a value read from microdata; pass names and counts only.

:class:`KitInternalError` marks a bug in the kit itself (an invariant broke);
it is not a user error and the CLI reports it differently.

Examples
--------
>>> from kit.errors import SpecError
>>> err = SpecError("table", "column 'KOM' is not in the data",
...                 "check the spelling or list the columns with df.columns")
>>> print(err)
table: column 'KOM' is not in the data. Fix: check the spelling or list the columns with df.columns
"""

from __future__ import annotations

from fractions import Fraction

__all__ = [
    "DISTRIBUTION",
    "EXIT_BAD_INPUT",
    "EXIT_BLOCKED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "BudgetExceededError",
    "DataReadError",
    "DisclosureError",
    "KitError",
    "KitInternalError",
    "OptionalDependencyError",
    "OutputExistsError",
    "PopulationsUnknownError",
    "RuleSetError",
    "SchemaError",
    "SpecError",
]

#: The name of the kit's distribution on the package index (``pip install sdc-kit``); the import
#: name and the command stay ``kit``. (``kit`` on the index is an unrelated project.)
DISTRIBUTION = "sdc-kit"

#: CLI exit code: everything safe / done.
EXIT_OK = 0
#: CLI exit code: bad input (a :class:`KitError` other than a disclosure block).
EXIT_BAD_INPUT = 2
#: CLI exit code: output blocked or cells must be suppressed.
EXIT_BLOCKED = 3
#: CLI exit code: a bug in the kit.
EXIT_INTERNAL = 70


class KitError(Exception):
    """Root of all user errors.

    Parameters
    ----------
    where
        What was being done (``"table"``, ``"rule set 'dst'"``, a file name).
    problem
        What is wrong and why. Must not contain data values.
    fix
        How to fix it. Optional but strongly encouraged.
    """

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, where: str, problem: str, fix: str | None = None) -> None:
        self.where = where
        self.problem = problem
        self.fix = fix
        text = f"{where}: {problem}"
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)


class SchemaError(KitError):
    """The data do not match the declared or expected schema."""


class SpecError(KitError):
    """A table, model or plan specification is invalid."""


class RuleSetError(KitError):
    """A rule-set file is missing, malformed or has unknown keys or kinds."""


class DataReadError(KitError):
    """A data file cannot be found or read."""


class OptionalDependencyError(KitError):
    """A feature needs a package that is not installed (an optional extra, or a damaged install).

    ``extra`` names the extra that brings the package; ``None`` for a required dependency that
    is missing (a partial conda environment or an unzipped copy without its dependencies).

    Examples
    --------
    >>> print(OptionalDependencyError("differential privacy", "dp", "opendp").fix[:44])
    install the extra: pip install "sdc-kit[dp]"
    """

    def __init__(self, feature: str, extra: str | None, package: str) -> None:
        conda = f"conda install -c conda-forge {package}"
        if extra is None:
            problem = f"needs the package '{package}', a required dependency that is not installed"
            fix = (f'reinstall the kit with its dependencies: pip install "{DISTRIBUTION}" '
                   f"(offline: see docs/install.md; conda: {conda})")
        else:
            problem = f"needs the optional package '{package}', which is not installed"
            fix = (f'install the extra: pip install "{DISTRIBUTION}[{extra}]" '
                   f"(offline: see docs/install.md; conda: {conda})")
        super().__init__(feature, problem, fix)


class DisclosureError(KitError):
    """An attempt to release, render or write something that is not cleared."""

    exit_code = EXIT_BLOCKED


class PopulationsUnknownError(DisclosureError):
    """An output's units are unknown, so the differencing registry cannot check it."""


class OutputExistsError(KitError):
    """A release or output file already exists; the kit never overwrites."""


class BudgetExceededError(KitError):
    """A differential-privacy charge would exceed the ledger's cap.

    The message states requested, remaining and difference in exact arithmetic.
    """

    exit_code = EXIT_BLOCKED

    def __init__(self, ledger: str, requested: Fraction, remaining: Fraction, measure: str) -> None:
        self.requested = requested
        self.remaining = remaining
        self.difference = requested - remaining
        super().__init__(
            f"privacy ledger {ledger}",
            f"charge of {measure}={requested} ({float(requested):.6g}) exceeds the remaining "
            f"budget {remaining} ({float(remaining):.6g}) by {self.difference} "
            f"({float(self.difference):.6g})",
            "ask for less (fewer statistics, or a smaller share each) or agree a larger cap with "
            "the project owner before any data are touched",
        )


class KitInternalError(Exception):
    """A bug in the kit: an invariant that must hold did not. Please report it."""

    exit_code: int = EXIT_INTERNAL
