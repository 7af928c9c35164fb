"""Shared fixtures: copies of the shipped examples that a test may break freely."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Competing BLAS threads slow statsmodels badly on 2-core machines (see shared/reference/forecasting.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
QUARTERS = ["2027Q1", "2027Q2", "2027Q3", "2027Q4"]  # the quarters of examples/quarterly's shipped actuals


@pytest.fixture(scope="session")
def four_quarters(tmp_path_factory) -> Path:
    """The shipped quarterly example, run for real: initial plan plus four rolled quarters (once
    for the session: tests read it and copy what they change)."""
    out = tmp_path_factory.mktemp("quarterly")
    completed = subprocess.run([sys.executable, str(ROOT / "examples" / "quarterly" / "run_quarters.py"), str(out)],
                               capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr + completed.stdout
    assert [line[:6] for line in completed.stdout.splitlines() if " actuals in: " in line] == QUARTERS
    (out / "stdout.txt").write_text(completed.stdout)  # what a user sees: test_actuals_record reads its table
    return out


@pytest.fixture
def sovereign(tmp_path: Path) -> Path:
    target = tmp_path / "sovereign-eu"
    shutil.copytree(EXAMPLES / "sovereign-eu", target)
    return target


@pytest.fixture
def enterprise(tmp_path: Path) -> Path:
    target = tmp_path / "global-enterprise"
    shutil.copytree(EXAMPLES / "global-enterprise", target)
    return target


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> None:
    header = header or list(rows[0])
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def set_cell(directory: Path, file: str, row: int, column: str, value: str) -> None:
    """Set one cell, addressing the row as a spreadsheet does (header = row 1)."""
    path = directory / file
    rows = read_rows(path)
    rows[row - 2][column] = value
    write_rows(path, rows, list(rows[0]))


def append_row(directory: Path, file: str, values: dict[str, str]) -> None:
    path = directory / file
    rows = read_rows(path) if path.exists() else []
    header = list(rows[0]) if rows else list(values)
    rows.append({name: values.get(name, "") for name in header})
    write_rows(path, rows, header)


def cells_without_a_typeface(book) -> list[str]:
    """'Sheet!A1' for each filled cell whose font names no typeface: the reader then picks one
    (LibreOffice a wider serif, which cut the header labels off in their cells)."""
    return [f"{sheet.title}!{cell.coordinate}" for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if cell.value is not None and not cell.font.name]
