"""What an administrator does to accounts; every change is audited. The CLI and the admin pages call these."""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from marketplace.accounts.models import User, UserRole
from marketplace.accounts.services import normalize_email, password_problems, user_by_email
from marketplace.core.audit import record_audit
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.geo.models import FederalDistrict, Region


class AdminError(ValueError):
    """A refused administrative action; ``field`` names the argument or form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _valid_email(field: str, value: str) -> str:
    email = normalize_email(value)
    if not email or "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise AdminError(field, f"«{value}» не похож на адрес электронной почты")
    return email


def create_admin(email: str, password: str, *, full_name: str | None = None, by: str = "cli") -> tuple[User, bool]:
    """Create an administrator, or make an existing account one; returns (user, created)."""
    address = _valid_email("EMAIL", email)
    user = user_by_email(address)
    if user is not None:
        if user.role != UserRole.ADMIN:
            old = user.role
            user.role = UserRole.ADMIN
            record_audit("admin.role", "user", user.id, {"role": [str(old), "admin"]}, actor=by)
        return user, False
    problems = password_problems(password or "", email=address)
    if problems:
        raise AdminError("--password", "пароль " + "; ".join(problems))
    user = User(email=address, full_name=(full_name or "Администратор").strip()[:200], role=UserRole.ADMIN,
                password_hash=generate_password_hash(password), is_active=True)
    user.email_confirmed_at = utcnow()
    db.session.add(user)
    db.session.flush()
    record_audit("admin.create_admin", "user", user.id, {"email": address}, actor=by)
    return user, True


def resolve_regions(codes: list[str], field: str = "REGION") -> list[Region]:
    """Region codes («27») and federal district codes («FEFD», «ДФО» by name is not accepted) → regions."""
    if not codes:
        raise AdminError(field, "укажите хотя бы один регион (код, например 27) или федеральный округ (например FEFD)")
    regions: dict[str, Region] = {}
    for raw in codes:
        code = str(raw).strip()
        region = db.session.get(Region, code.zfill(2)) if code.isdigit() and len(code) <= 2 else None
        if region is not None:
            regions[region.code] = region
            continue
        district = db.session.get(FederalDistrict, code.upper())
        if district is None:
            raise AdminError(field, f"«{raw}» — нет такого региона или федерального округа")
        for r in district.regions:
            regions[r.code] = r
    return sorted(regions.values(), key=lambda r: r.code)


def grant_coordinator(user: User, regions: list[Region], *, by: str, replace: bool = False) -> User:
    """Make ``user`` a coordinator of ``regions`` (added to those held unless ``replace``); an admin keeps the
    admin role and gets the regions too."""
    if not user.is_active:
        raise AdminError("EMAIL", f"учётная запись {user.email} заблокирована")
    before = sorted(user.region_codes)
    current = {} if replace else {r.code: r for r in user.regions}
    current.update({r.code: r for r in regions})
    user.regions = sorted(current.values(), key=lambda r: r.code)
    changes: dict[str, object] = {"regions": [before, sorted(current)]}
    if user.role not in (UserRole.ADMIN, UserRole.COORDINATOR):
        changes["role"] = [str(user.role), "coordinator"]
        user.role = UserRole.COORDINATOR
    record_audit("admin.grant_coordinator", "user", user.id, changes, actor=by)
    return user


def find_user(email: str, field: str = "EMAIL") -> User:
    address = _valid_email(field, email)
    user = user_by_email(address)
    if user is None:
        raise AdminError(field, f"пользователя {address} нет")
    return user


def list_users(*, role: str | None = None, query: str | None = None) -> list[User]:
    stmt = select(User).order_by(User.id)
    if role:
        stmt = stmt.where(User.role == UserRole(role))
    if query:
        stmt = stmt.where(user_search_clause(query))
    return list(db.session.scalars(stmt))


def user_search_clause(query: str):
    """E-mail or name containing ``query``, any case (SQLite's lower() knows only ASCII: the name is also
    matched as typed, lower-case and capitalised)."""
    q = query.strip()
    likes = {f"%{v}%" for v in (q, q.lower(), q.capitalize(), q.title())}
    return db.or_(db.func.lower(User.email).like(f"%{q.lower()}%"), *(User.full_name.like(v) for v in likes),
                  db.func.lower(User.full_name).like(f"%{q.lower()}%"))


def set_active(user: User, active: bool, *, by: User) -> None:
    if user.id == by.id and not active:
        raise AdminError("user", "нельзя заблокировать собственную учётную запись")
    if user.is_active != active:
        user.is_active = active
        record_audit("admin.unblock" if active else "admin.block", "user", user.id,
                     {"is_active": [not active, active]}, user_id=by.id)


def set_role(user: User, role: str, *, by: User) -> None:
    if role not in {r.value for r in UserRole}:
        raise AdminError("role", "выберите роль из списка")
    if user.id == by.id and role != UserRole.ADMIN:
        raise AdminError("role", "нельзя снять с себя роль администратора")
    if user.role != role:
        old = str(user.role)
        user.role = UserRole(role)
        if user.role != UserRole.COORDINATOR and user.role != UserRole.ADMIN and user.regions:
            user.regions = []
        record_audit("admin.role", "user", user.id, {"role": [old, role]}, user_id=by.id)


def reset_password(user: User, *, by: User) -> None:
    """End every session of ``user`` (a new unusable password) and mail a link to choose a new one."""
    import secrets

    from marketplace.accounts.services import request_password_reset

    user.password_hash = generate_password_hash(secrets.token_urlsafe(32))
    record_audit("admin.reset_password", "user", user.id, {}, user_id=by.id)
    db.session.flush()
    if user.is_active:
        request_password_reset(user.email)
