"""Fixtures for the search tests: a small corpus of Russian listings with deterministic vectors."""
from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from search import Document, open_backend

DIM = 16


def unit(seed: int, dim: int = DIM) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def corpus() -> list[Document]:
    rows = [
        # id, side, kind, title, description, okpd2, region, district, org, status
        (1, "offer", "capability", "Токарные работы", "Токарная обработка деталей на станках с ЧПУ", ("25.62.20.110",),
         "27", "FEFD", 10, "active"),
        (2, "offer", "capability", "Сварочные работы", "Аргонная сварка нержавеющей стали", ("25.62.20.120",),
         "27", "FEFD", 11, "active"),
        (3, "offer", "capability", "Фрезерная обработка металла", "Фрезеровка корпусов", ("25.62.10",),
         "77", "CFD", 12, "active"),
        (4, "offer", "product", "Литьё алюминиевых корпусов", "Литейное производство, отливки под давлением",
         ("24.53",), "66", "UFD", 13, "active"),
        (5, "offer", "surplus", "Остатки листового проката", "Лист стальной 3 мм, работы на станках не ведём",
         ("24.10.31",), "27", "FEFD", 10, "active"),
        (6, "need", "tender_lot", "Изготовление металлоконструкций", "Сварные конструкции для цеха",
         ("25.11.23",), "25", "FEFD", 20, "active"),
        (7, "need", "missing_operation", "Нужна токарная обработка валов", "Партия валов, точение по чертежу",
         ("25.62.20",), "77", "CFD", 21, "active"),
        (8, "need", "purchase_request", "Закупка подшипников", "Подшипники шариковые", ("28.15.10",),
         "50", "CFD", 22, "closed"),
        (9, "offer", "equipment_rent", "Аренда листогибочного пресса", "Гибка листового металла до 4 м",
         ("28.41",), "27", "FEFD", 11, "active"),
        (10, "offer", "capability", "Покраска порошковая", "Окраска металлоконструкций", ("25.61",),
         None, None, 14, "draft"),
    ]
    docs = []
    for i, side, kind, title, description, okpd2, region, district, org, status in rows:
        docs.append(Document(
            id=i, side=side, kind=kind, title=title, description=description, okpd2=okpd2,
            okved2=("25.62",) if okpd2[0].startswith("25.62") else (), region=region, district=district,
            organization_id=org, quantity=float(i), unit="шт", price=100.0 * i, starts_on=date(2026, 1, i),
            ends_on=date(2026, 3, i) if i % 2 == 0 else None, status=status, updated_at=datetime(2026, 2, i, 12, 0, tzinfo=UTC) if i % 2 else
            datetime(2026, 2, i, 12, 0), vector=unit(i),
        ))
    return docs


@pytest.fixture
def docs() -> list[Document]:
    return corpus()


@pytest.fixture
def backend(tmp_path, docs):
    index = open_backend(f"embedded://{tmp_path / 'index'}", dim=DIM)
    index.index(docs)
    yield index
    index.close()
