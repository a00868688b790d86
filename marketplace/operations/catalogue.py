"""The engine's view of the catalogue, read once per process from the reference files the database was loaded from."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from matching.operations import OperationCatalogue

DATA_DIR = Path(__file__).resolve().parent.parent / "refdata" / "data"
OPERATIONS_DIR = DATA_DIR / "operations"
MATERIALS_FILE = DATA_DIR / "materials.yaml"


@lru_cache(maxsize=4)
def _load(operations_dir: str, materials_file: str) -> OperationCatalogue:
    return OperationCatalogue.load(Path(operations_dir), Path(materials_file))


def get_catalogue(operations_dir: Path = OPERATIONS_DIR, materials_file: Path = MATERIALS_FILE) -> OperationCatalogue:
    """The shipped catalogue (memoised: the files change only with a release)."""
    return _load(str(operations_dir), str(materials_file))
