"""The acceptance scenario's offers: a pump unit for Хабаровский край, where the region can machine, paint and
assemble, Приморье casts, and Новосибирск makes motors (and machines cheaper, which the charter must not prefer)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ASSEMBLY_CERT = "ТР ТС 010/2011"


@dataclass
class PumpOffers:
    machining_27: Any
    machining_27_alt: Any
    painting_27: Any
    assembly_27: Any
    casting_25: Any
    bronze_25: Any
    bronze_54: Any
    motor_54: Any
    machining_54: Any
    assembly_27_uncertified: Any


def seed_pump_unit(offers: Any, factories: Any) -> PumpOffers:
    machinist = factories.organization(region="27", name="ООО «Хабаровский мехзавод»")
    seeded = PumpOffers(
        machining_27=offers.add("27", ["25.62", "25.61"], title="Механическая обработка корпусов и валов, токарные работы",
                                price=3000, lead=12, capacity=200, organization=machinist),
        machining_27_alt=offers.add("27", "25.62", title="Токарная и фрезерная обработка деталей",
                                    price=3500, lead=15, capacity=50,
                                    organization=factories.organization(region="27", name="ООО «Амурмаш»")),
        painting_27=offers.add("27", "25.61", title="Окраска металлоконструкций, грунтовка",
                               price=500, lead=5, capacity=500,
                               organization=factories.organization(region="27", name="ООО «ДВ-Покрытия»")),
        assembly_27=offers.add("27", "28.13", title="Сборка и испытания насосов", price=8000, lead=10, capacity=40,
                               certifications=[ASSEMBLY_CERT],
                               organization=factories.organization(region="27", name="АО «Хабаровскнасос»")),
        assembly_27_uncertified=offers.add("27", "28.13", title="Сборка насосного оборудования", price=6000, lead=8,
                                           capacity=40,
                                           organization=factories.organization(region="27", name="ООО «Сборка-27»")),
        casting_25=offers.add("25", "24.51", title="Литьё чугуна в песчаные формы", price=4000, lead=20, capacity=300,
                              organization=factories.organization(region="25", name="ООО «Приморская литейка»")),
        bronze_25=offers.add("25", "24.54", title="Литьё бронзы", price=2500, lead=15, capacity=100,
                             organization=factories.organization(region="25", name="ООО «Бронза-ДВ»")),
        bronze_54=offers.add("54", "24.54", title="Литьё цветных металлов, бронза", price=1500, lead=10,
                             capacity=500, organization=factories.organization(region="54", name="ООО «Сиблит»")),
        motor_54=offers.add("54", "27.11", title="Электродвигатели асинхронные", price=60000, lead=25, capacity=100,
                            organization=factories.organization(region="54", name="АО «Сибэлектромотор»")),
        machining_54=offers.add("54", "25.62", title="Механическая обработка, токарные работы", price=1000, lead=7,
                                capacity=1000, organization=factories.organization(region="54",
                                                                                   name="ООО «Новосибмаш»")),
    )
    offers.index()
    return seeded


def pump_request(**overrides: Any) -> dict[str, Any]:
    from matching.chains import load_template

    values = {"quantity": 10, "delivery_region": "27", "deadline_days": 120}
    values.update(overrides)
    return load_template("pump_unit").request_dict(**values)
