"""Reading the small input files of the eligibility and price-protection checks (facts,
price changes): bounded in size, UTF-8 (a BOM allowed), CSV or YAML/JSON by extension."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

from storeops.common.errors import StoreopsError

MAX_FILE_BYTES = 5 << 20


class CheckFileError(StoreopsError, ValueError):
    pass


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise CheckFileError(f"{source} is {size} bytes: at most {limit}",
                                 key="promo_checks.file_too_large", source=source, size=size,
                                 limit=limit)
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CheckFileError(f"cannot read {source}: {exc.strerror or exc}",
                             key="promo_checks.file_unreadable", source=source,
                             reason=str(exc.strerror or exc)) from exc
    except UnicodeDecodeError:
        raise CheckFileError(f"{source} is not UTF-8 text", key="promo_checks.file_not_utf8",
                             source=source) from None


def is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def csv_rows(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The header (stripped) and the rows of a CSV text."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or ()]
    reader.fieldnames = header
    return header, [{k: v for k, v in row.items() if k is not None} for row in reader]


def structured(path: Path, text: str) -> Any:
    """A YAML or JSON text's data (JSON by the .json extension)."""
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CheckFileError(f"{path} is not YAML/JSON: {str(exc).splitlines()[0]}",
                             key="promo_checks.file_not_yaml", source=str(path),
                             reason=str(exc).splitlines()[0]) from None
