"""A batch's inputs file: one run's inputs per row, JSON Lines or CSV, all checked before anything starts.

Every problem is reported as `FILE:LINE: message`, all of them at once, so a
forty-row file is fixed in one pass. A row is checked exactly as `crewgate run
-i` checks inputs (unknown, missing, ill-typed), and a `repo` that is not a
folder is refused here rather than when its run would start.
"""

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput, RunError
from ..plain import JsonObject
from .inputs import resolve_inputs
from .schema import Runbook

MAX_ROWS = 10_000


@dataclass(frozen=True)
class BatchRow:
    line: int
    inputs: JsonObject


def read_batch_file(path: Path, runbook: Runbook) -> list[BatchRow]:
    """The checked rows of `path`; BadInput naming every bad line, or an empty file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInput(f"{path}: no such inputs file (give a .jsonl or .csv file, one run's inputs per row)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot be read as UTF-8 text: {exc}") from exc
    raw = _csv_rows(text) if path.suffix.lower() == ".csv" else _json_rows(text)
    problems: list[str] = []
    rows: list[BatchRow] = []
    for line, given in raw:
        if isinstance(given, str):
            problems.append(f"{path}:{line}: {given}")
            continue
        try:
            inputs = resolve_inputs(runbook, given)
            _check_repo(runbook, inputs)
        except RunError as exc:
            problems.append(f"{path}:{line}: {str(exc).replace('add -i ', 'add the column or key ')}")
            continue
        rows.append(BatchRow(line, inputs))
    if problems:
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise BadInput("\n".join(problems[:50]) + more)
    if not rows:
        raise BadInput(f"{path}:1: the batch is empty: add one row of inputs per run")
    if len(rows) > MAX_ROWS:
        raise BadInput(f"{path}:{rows[MAX_ROWS].line}: more than {MAX_ROWS} runs in one batch: split the file")
    return rows


def _json_rows(text: str) -> list[tuple[int, JsonObject | str]]:
    rows: list[tuple[int, JsonObject | str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, f"not a JSON object: {exc.msg} (JSON Lines: one object per line)"))
            continue
        if not isinstance(value, dict):
            rows.append((number, f'not a JSON object but {type(value).__name__}: write {{"input": value, ...}}'))
            continue
        rows.append((number, value))
    return rows


def _csv_rows(text: str) -> list[tuple[int, JsonObject | str]]:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[tuple[int, JsonObject | str]] = []
    for values in reader:
        number = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if header is None:
            header = [name.strip() for name in values]
            continue
        if len(values) != len(header):
            rows.append((number, f"{len(values)} values for {len(header)} columns ({', '.join(header)})"))
            continue
        rows.append((number, {name: value for name, value in zip(header, values, strict=True) if value != ""}))
    return rows


def _check_repo(runbook: Runbook, inputs: JsonObject) -> None:
    if "repo" in runbook.inputs and not Path(str(inputs["repo"])).is_dir():
        raise RunError(f"input repo={inputs['repo']} is not a folder")
