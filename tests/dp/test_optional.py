"""Without OpenDP the kit works and DP calls name the extra to install."""

from __future__ import annotations

import builtins
import importlib
from fractions import Fraction
from pathlib import Path

import pytest

from kit.dp import BudgetLedger, DPConfig, DPTableSpec, dp_table, preview
from kit.errors import OptionalDependencyError


@pytest.fixture()
def no_opendp(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__
    real_import_module = importlib.import_module

    def fake_import(name: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if name == "opendp" or name.startswith("opendp."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    def fake_import_module(name: str, package: str | None = None):  # type: ignore[no-untyped-def]
        if name == "opendp" or name.startswith("opendp."):
            raise ImportError(name)
        return real_import_module(name, package)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(importlib, "import_module", fake_import_module)


def test_dp_calls_name_the_extra(no_opendp: None, tmp_path: Path) -> None:
    import kit

    ledger = BudgetLedger.create(tmp_path / "b.jsonl", cap_rho="1")
    spec = DPTableSpec(name="t", dims=("A",), statistic="count", rho="1/8",
                       config=DPConfig(population=10, codes={"A": ("1",)}))
    with pytest.raises(OptionalDependencyError, match=r"kit\[dp\]") as info:
        dp_table(kit.Session(unit="PNR"), lambda: None, spec, ledger)
    assert "opendp" in str(info.value)
    with pytest.raises(OptionalDependencyError):
        preview(kit.Session(unit="PNR"), spec)
    # the ledger and the rest of the kit still work
    with ledger.spend(rho="1/8"):
        pass
    assert ledger.verify().ok and ledger.spent_rho == Fraction(1, 8)


def test_package_imports_without_opendp() -> None:
    import subprocess
    import sys

    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def f(n, *a, **k):\n"
        "    if n.split('.')[0] in ('opendp', 'polars'):\n"
        "        raise ImportError(n)\n"
        "    return real(n, *a, **k)\n"
        "builtins.__import__ = f\n"
        "import kit, kit.dp, kit.cli.budget, kit.dp.diagnostics\n"
        "assert 'opendp' not in sys.modules and 'polars' not in sys.modules\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=False)
    assert out.stdout.strip() == "ok", out.stderr
