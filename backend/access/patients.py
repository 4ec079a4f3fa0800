"""A professional's patients: the people towards whom they hold a basis of access today.

The bases are the ones :func:`backend.access.rules.pro_basis` decides on, for
every person at once: the registered GP or a professional the patient
granted (care team), a temporary code the professional redeemed and that is
still valid, a declared emergency still running that the patient has not
opposed. A patient who blocked the professional, or whose space is closed,
is never listed, whatever else there is. Authorship alone (documents the
professional wrote) is not a basis and lists nobody.

The list is in name order, one page at a time; the cursor is the id of the
last patient of the previous page, so that no name travels in a URL.
"""

from __future__ import annotations

from uuid import UUID

from backend.access.tables import CareRelation, EmergencyAccess, TemporaryAccess
from backend.core import database
from backend.core.auth import utcnow
from backend.core.errors import Unprocessable

MAX_LIMIT = 100
# Best first, as pro_basis ranks them: a care relation, then a code, then an emergency.
RANK = {"gp": 0, "granted": 1, "temporary": 2, "emergency": 3}

# The open records with at least one basis and no block: placeholders are the professional
# (care relation), the professional and now (code), the professional and now (emergency), the
# professional (block). Only these constant fragments are ever put together, never a value.
_LISTED = (
    "FROM insured_person x WHERE x.closed_at IS NULL AND x.id IN ("
    "SELECT c.person FROM care_relation c WHERE c.professional = {} AND c.revoked_at IS NULL "
    "UNION SELECT t.person FROM temporary_access t WHERE t.redeemed_by = {} AND t.revoked_at IS NULL "
    "AND t.expires_at > {} "
    "UNION SELECT e.person FROM emergency_access e JOIN insured_person o ON o.id = e.person "
    "WHERE e.professional = {} AND e.expires_at > {} AND NOT o.emergency_access_opposed) "
    "AND NOT EXISTS (SELECT 1 FROM professional_block b WHERE b.person = x.id AND b.professional = {})"
)
_AFTER = (" AND (x.birth_name > {} OR (x.birth_name = {} AND (x.first_name > {} "
          "OR (x.first_name = {} AND x.id > {}))))")


def _args(professional_id: UUID, now) -> list:
    return [professional_id, professional_id, now, professional_id, now, professional_id]


async def page(professional_id: UUID, *, limit: int = 50, cursor: UUID | None = None) -> dict:
    """One page of the professional's patients, by birth name, first name and id.

    Returns:
        ``{"items": [...], "next_cursor": UUID | None, "total": int}``; each item
        has ``id``, ``display_name``, ``first_name``, ``birth_name``,
        ``birth_date``, ``basis`` (``gp``, ``granted``, ``temporary``,
        ``emergency``) and ``until`` (the end of a temporary or emergency access).

    Raises:
        Unprocessable: the cursor is not (or no longer) a patient of this professional's list.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    now = utcnow()
    args = _args(professional_id, now)
    after, after_args = "", []
    if cursor is not None:
        last = await database.fetch(
            f"SELECT x.birth_name, x.first_name, x.id {_LISTED} AND x.id = {{}}", *args, cursor)  # noqa: S608
        if not last:
            raise Unprocessable("Curseur de page inconnu : rechargez la liste.",
                                 detail_en="Unknown page cursor: reload the list.")
        after = _AFTER
        row = last[0]
        after_args = [row["birth_name"], row["birth_name"], row["first_name"], row["first_name"], row["id"]]
    rows = await database.fetch(
        f"SELECT x.id, x.first_name, x.birth_name, x.birth_date {_LISTED}{after} "  # noqa: S608
        "ORDER BY x.birth_name, x.first_name, x.id LIMIT {}", *args, *after_args, limit + 1)
    total = (await database.fetch(f"SELECT count(*) AS n {_LISTED}", *args))[0]["n"]  # noqa: S608
    more = len(rows) > limit
    rows = rows[:limit]
    bases = await _bases(professional_id, [r["id"] for r in rows], now)
    items = []
    for r in rows:
        basis, until = bases.get(r["id"], (None, None))
        if basis is None:  # the basis ended between the two queries
            continue
        items.append({"id": r["id"], "display_name": f"{r['first_name']} {r['birth_name']}",
                      "first_name": r["first_name"], "birth_name": r["birth_name"],
                      "birth_date": r["birth_date"], "basis": basis, "until": until})
    return {"items": items, "next_cursor": rows[-1]["id"] if more and rows else None, "total": total}


async def _bases(professional_id: UUID, person_ids: list[UUID], now) -> dict[UUID, tuple[str, object]]:
    """The best basis of each person (and its end, for a temporary or emergency access).

    The page query already left out blocks, closed spaces and opposed emergencies.
    """
    if not person_ids:
        return {}
    found: dict[UUID, list[tuple[str, object]]] = {}
    care = await CareRelation.select(CareRelation.person, CareRelation.role).where(
        (CareRelation.professional == professional_id) & CareRelation.revoked_at.is_null()
        & CareRelation.person.is_in(person_ids))
    for r in care:
        found.setdefault(r["person"], []).append((r["role"], None))
    codes = await TemporaryAccess.select(TemporaryAccess.person, TemporaryAccess.expires_at).where(
        (TemporaryAccess.redeemed_by == professional_id) & TemporaryAccess.revoked_at.is_null()
        & (TemporaryAccess.expires_at > now) & TemporaryAccess.person.is_in(person_ids))
    for r in codes:
        found.setdefault(r["person"], []).append(("temporary", r["expires_at"]))
    emergencies = await EmergencyAccess.select(EmergencyAccess.person, EmergencyAccess.expires_at).where(
        (EmergencyAccess.professional == professional_id) & (EmergencyAccess.expires_at > now)
        & EmergencyAccess.person.is_in(person_ids))
    for r in emergencies:
        found.setdefault(r["person"], []).append(("emergency", r["expires_at"]))
    best: dict[UUID, tuple[str, object]] = {}
    for person, options in found.items():
        basis = min((b for b, _ in options), key=RANK.__getitem__)
        ends = [u for b, u in options if b == basis and u is not None]
        best[person] = (basis, max(ends) if ends else None)
    return best
