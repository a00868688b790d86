"""Scenarios from a pool of offers: each offer is tagged by hand with what it really does (``does``) and each need
with what it wants (``wants``); a pair is acceptable when the offer does what is wanted and every stated parameter,
amount, date and certificate agrees. The reason says which held or failed."""
from __future__ import annotations

from datetime import date, timedelta

TODAY = date(2025, 3, 1)  # the harness's default "today" for deadlines
LOWER_IS_BETTER = {"tolerance_it", "roughness_ra_um"}


def _label(need: dict, offer: dict, names: dict[str, str]) -> tuple[bool, str]:
    wants, does = need["wants"], offer["does"]
    if wants not in does:
        return False, f"{names.get(next(iter(does)), next(iter(does)))}, а нужно: {names.get(wants, wants)}"
    np_, op = need.get("parameters", {}), offer.get("parameters", {})
    for key, value in np_.items():
        if key not in op:
            continue
        have = op[key]
        if key == "materials":
            if not any(n == h or n.startswith(h + ".") for n in value for h in have):
                return False, f"материал {value[0]} не обрабатывает"
        elif key == "max_thickness_mm":
            lo, hi = op.get("min_thickness_mm", 0), op["max_thickness_mm"]
            if not lo <= value <= hi:
                return False, f"толщина {value} мм вне {lo}–{hi} мм"
        elif key in LOWER_IS_BETTER:
            if have > value:
                return False, f"{key}: может {have}, нужно {value}"
        elif have < value:
            return False, f"{key}: может {have}, нужно {value}"
    amount = offer.get("capacity", offer.get("quantity"))
    if need.get("quantity") and amount is not None and amount < need["quantity"]:
        return False, f"может {amount:g}, нужно {need['quantity']:g}"
    if need.get("deadline") and offer.get("lead_time_days") is not None:  # noqa: SIM102
        if TODAY + timedelta(days=offer["lead_time_days"]) > date.fromisoformat(need["deadline"]):
            return False, f"срок изготовления {offer['lead_time_days']} дн. не успевает к {need['deadline']}"
    missing = set(need.get("certifications", ())) - set(offer.get("certifications", ()))
    if missing:
        return False, "нет: " + ", ".join(sorted(missing))
    return True, f"делает: {names.get(wants, wants)}"


def pool_scenarios(prefix: str, pool: list[dict], needs: list[tuple[str, dict]], names: dict[str, str]) -> list[dict]:
    """One scenario per need, each with every offer of the pool (labelled against that need)."""
    out = []
    for number, (family, need) in enumerate(needs, 1):
        offers = []
        for o in pool:
            ok, why = _label(need, o, names)
            offers.append({**{k: v for k, v in o.items() if k != "does"}, "acceptable": ok, "reason": why})
        out.append({"id": f"{prefix}-{number:02d}", "family": family,
                    "need": {k: v for k, v in need.items() if k != "wants"}, "offers": offers})
    return out


def o(kind: str, region: str, does: str | tuple[str, ...], title: str, description: str, **extra) -> dict:
    return {"kind": kind, "title": title, "description": description, "region": region,
            "does": {does} if isinstance(does, str) else set(does), **extra}


def n(wants: str, title: str, description: str = "", *, kind: str = "missing_operation", region: str = "27",
      **extra) -> dict:
    return {"wants": wants, "kind": kind, "title": title, "description": description, "region": region, **extra}
