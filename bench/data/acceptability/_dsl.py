"""Small helpers the scenario files use to write needs and offers tersely."""
from __future__ import annotations


def need(title: str, description: str = "", *, kind: str = "missing_operation", region: str = "27", **extra) -> dict:
    return {"kind": kind, "title": title, "description": description, "region": region, **extra}


def offer(kind: str, region: str, title: str, description: str, ok: bool, why: str, **extra) -> dict:
    return {"kind": kind, "title": title, "description": description, "region": region, **extra,
            "acceptable": ok, "reason": why}


def scenario(sid: str, family: str, need_: dict, offers: list[dict]) -> dict:
    return {"id": sid, "family": family, "need": need_, "offers": offers}


def cap(region: str, title: str, description: str, ok: bool, why: str, **extra) -> dict:
    return offer("capability", region, title, description, ok, why, **extra)


def prod(region: str, title: str, description: str, ok: bool, why: str, **extra) -> dict:
    return offer("product", region, title, description, ok, why, **extra)


def surplus(region: str, title: str, description: str, ok: bool, why: str, **extra) -> dict:
    return offer("surplus", region, title, description, ok, why, **extra)


def rent(region: str, title: str, description: str, ok: bool, why: str, **extra) -> dict:
    return offer("equipment_rent", region, title, description, ok, why, **extra)
