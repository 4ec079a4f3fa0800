"""The demo world seeded by ./scripts/run on first start. Demo only: refused in production."""

from __future__ import annotations

from datetime import date, timedelta

from backend.access.tables import Delegation
from backend.accounts.services import login_key, open_pro_account
from backend.accounts.tables import Account
from backend.core import database
from backend.core.auth import utcnow
from backend.core.crypto import FieldCipher, hash_password, keyed_hash, normalise_code
from backend.core.settings import ConfigurationError, Settings
from backend.identity.identifiers import nir_key
from backend.identity.registry import import_registry
from backend.identity.tables import InsuredPerson
from backend.professionals.directory import import_directory, search_structures
from backend.professionals.identifiers import luhn_check_digit

DEMO_PASSWORD = "carnet-demo-2026"  # noqa: S105 - demo data only


def nir(first13: str) -> str:
    """Complete 13 characters with their key (demo NIRs are made, not real)."""
    return f"{first13}{nir_key(first13):02d}"


def rpps(first10: str) -> str:
    return first10 + luhn_check_digit(first10)


def finess(first8: str) -> str:
    return first8 + luhn_check_digit(first8)


CAMILLE = nir("2840575056123")
LEO = nir("1150675056045")
JEANNE = nir("2180975056078")
DOMINIQUE = nir("1720269123456")
PENDING = [nir("1900131555012"), nir("2950813055034"), nir("188022A004021")]
PENDING_CODES = ["DEMO-ACTV-0001", "DEMO-ACTV-0002", "DEMO-ACTV-0003"]

GP_RPPS, PHARMACIST_RPPS, RADIOLOGIST_RPPS = rpps("1000000001"), rpps("1000000002"), rpps("1000000003")
PHARMACIST2_RPPS = rpps("1000000004")  # Bruno OFFICINE's colleague, in the same pharmacy

# Demo TOTP secrets (base32). Printed in the README, never used outside demo mode.
TOTP_SECRETS = {
    "camille": "JBSWY3DPEHPK3PXPCAMILLEDEMOAAAAA",
    "dominique": "JBSWY3DPEHPK3PXPDOMINIQUEDEMOAAA",
    "gp": "JBSWY3DPEHPK3PXPMEDECINDEMOAAAAA",
    "pharmacist": "JBSWY3DPEHPK3PXPPHARMADEMOAAAAAA",
    "radiologist": "JBSWY3DPEHPK3PXPRADIODEMOAAAAAAA",
    "pharmacist2": "JBSWY3DPEHPK3PXPCOMPTOIRDEMOAAAA",
}
# The demo professionals who log in: TOTP_SECRETS key -> RPPS.
PRO_LOGINS = {"gp": GP_RPPS, "pharmacist": PHARMACIST_RPPS, "pharmacist2": PHARMACIST2_RPPS,
              "radiologist": RADIOLOGIST_RPPS}


def _amo(start: str = "2020-01-01") -> dict:
    return {"amo_regime": "Régime général", "amo_caisse": "CPAM de Paris", "amo_caisse_code": "751",
            "amo_rights_start": start}


def registry_rows() -> list[dict]:
    camille_amc = {"amc_organisation": "Mutuelle Exemple", "amc_number": "99999999",
                   "amc_contract": "ME-2026-0042", "amc_tpp_start": "2026-01-01",
                   "amc_tpp_end": "2026-12-31"}
    family = {"birth_name": "INVENTÉE", "birthplace_code": "75056"}
    return [
        {"nir": CAMILLE, "identity_status": "QUAL", **family, "first_names": ["Camille", "Marie"],
         "birth_date": "1984-05-12", "sex": "F", **_amo(), **camille_amc},
        {"nir": LEO, "identity_status": "QUAL", "birth_name": "INVENTÉ", "birthplace_code": "75056",
         "first_names": ["Léo"], "birth_date": "2015-06-03", "sex": "M", **_amo("2015-06-03"),
         **camille_amc, "parent_nirs": [CAMILLE]},
        {"nir": JEANNE, "identity_status": "QUAL", **family, "first_names": ["Jeanne", "Alice"],
         "birth_date": "2018-09-21", "sex": "F", **_amo("2018-09-21"), **camille_amc,
         "parent_nirs": [CAMILLE]},
        {"nir": DOMINIQUE, "identity_status": "QUAL", "birth_name": "EXEMPLE",
         "first_names": ["Dominique"], "birth_date": "1972-02-14", "sex": "M",
         "birthplace_code": "69123", **_amo()},
        {"nir": PENDING[0], "identity_status": "QUAL", "birth_name": "ESSAI", "first_names": ["Marc"],
         "birth_date": "1990-01-30", "sex": "M", "birthplace_code": "31555", **_amo()},
        {"nir": PENDING[1], "identity_status": "VALI", "birth_name": "TEMOIN",
         "first_names": ["Sophie", "Anne"], "birth_date": "1995-08-08", "sex": "F",
         "birthplace_code": "13055", **_amo()},
        {"nir": PENDING[2], "identity_status": "PROV", "birth_name": "MODELE", "first_names": ["Paul"],
         "birth_date": "1988-02-02", "sex": "M", "birthplace_code": "2A004", **_amo()},
    ]


# Demo structures (FINESS): the GP's practice, the imaging centre, and pharmacies in several communes.
STRUCTURES = {
    "practice": {"finess": finess("75000001"), "structure_name": "Cabinet du Parc",
                 "structure_kind": "practice", "address": "12 rue du Parc", "postcode": "75011",
                 "commune": "Paris", "opening_hours": "lun.–ven. 8h30–19h"},
    "pharmacy": {"finess": finess("75000002"), "structure_name": "Pharmacie de la Gare",
                 "structure_kind": "pharmacy", "address": "8 rue de la Gare", "postcode": "75019",
                 "commune": "Paris", "opening_hours": "lun.–sam. 8h30–19h30"},
    "imaging": {"finess": finess("75000003"), "structure_name": "Centre d'imagerie Lumière",
                "structure_kind": "imaging", "address": "40 avenue de la Lumière", "postcode": "75012",
                "commune": "Paris", "opening_hours": "lun.–ven. 8h–18h"},
    "eglise": {"finess": finess("42000001"), "structure_name": "Pharmacie de l'Église",
               "structure_kind": "pharmacy", "address": "3 place de l'Église", "postcode": "42000",
               "commune": "Saint-Étienne", "opening_hours": "lun.–sam. 9h–12h30, 14h–19h"},
    "quais": {"finess": finess("92000001"), "structure_name": "Pharmacie des Quais",
              "structure_kind": "pharmacy", "address": "27 quai Alphonse-Le-Gallo", "postcode": "92100",
              "commune": "Boulogne-Billancourt", "opening_hours": "lun.–sam. 8h30–20h"},
    "vieux_port": {"finess": finess("13000001"), "structure_name": "Grande Pharmacie du Vieux-Port",
                   "structure_kind": "pharmacy", "address": "5 quai du Port", "postcode": "13002",
                   "commune": "Marseille", "opening_hours": "tous les jours 8h–22h"},
    "saint_jean": {"finess": finess("69000001"), "structure_name": "Pharmacie Saint-Jean",
                   "structure_kind": "pharmacy", "address": "2 place Saint-Jean", "postcode": "69005",
                   "commune": "Lyon", "opening_hours": "mar.–sam. 9h–19h"},
}
# Pharmacists of the pharmacies beyond Bruno OFFICINE's (no demo login): (structure, RPPS, last, first).
OTHER_PHARMACISTS = [
    ("eglise", rpps("1000000005"), "PILON", "Marius"),
    ("quais", rpps("1000000006"), "MORTIER", "Nadia"),
    ("vieux_port", rpps("1000000007"), "ALAMBIC", "Louis"),
    ("saint_jean", rpps("1000000008"), "FIOLE", "Rose"),
]


def directory_rows() -> list[dict]:
    def pro(number: str, last: str, first: str, code: str, specialty: str | None, structure: str) -> dict:
        return {"rpps": number, "last_name": last, "first_name": first, "profession_code": code,
                "specialty": specialty, **STRUCTURES[structure]}

    return [
        pro(GP_RPPS, "MÉDECIN", "Alice", "10", "Médecine générale", "practice"),
        pro(PHARMACIST_RPPS, "OFFICINE", "Bruno", "21", None, "pharmacy"),
        pro(PHARMACIST2_RPPS, "COMPTOIR", "Inès", "21", None, "pharmacy"),
        pro(RADIOLOGIST_RPPS, "IMAGERIE", "Chloé", "10", "Radiologie", "imaging"),
        *(pro(number, last, first, "21", None, structure)
          for structure, number, last, first in OTHER_PHARMACISTS),
    ]


async def _credentials(settings: Settings, kind: str, identifier: str, secret: str) -> None:
    key = login_key(settings, kind, identifier)
    account = await Account.select(Account.id).where(Account.login_key == key).first()
    cipher = FieldCipher(settings.secrets.data_key)
    await Account.update({
        Account.password_hash: hash_password(DEMO_PASSWORD),
        Account.totp_secret: cipher.encrypt(secret, str(account["id"])),
        Account.totp_confirmed: True,
    }).where(Account.id == account["id"])


async def _citizen_account(settings: Settings, person_nir: str, secret: str) -> None:
    person = await InsuredPerson.select(InsuredPerson.id).where(InsuredPerson.nir == person_nir).first()
    await Account.insert(Account(kind="citizen", person=person["id"],
                                 login_key=login_key(settings, "citizen", person_nir)))
    await InsuredPerson.update({InsuredPerson.activated_at: utcnow()}).where(
        InsuredPerson.id == person["id"])
    await _credentials(settings, "citizen", person_nir, secret)


async def _demo_directory(settings: Settings) -> None:
    """Load the demo directory (idempotent) and give the demo professionals' logins their
    credentials, those that have none yet only (a password changed in the app stays)."""
    await import_directory(settings, directory_rows(), open_pro_account)
    for name, number in PRO_LOGINS.items():
        if await Account.exists().where((Account.login_key == login_key(settings, "pro", number))
                                        & Account.password_hash.is_null()):
            await _credentials(settings, "pro", number, TOTP_SECRETS[name])


async def seed(settings: Settings) -> bool:
    """Create the demo world once. Returns False when it was already there.

    An existing demo world gets the directory's additions (new structures, professionals
    and their logins); nothing else of it changes.
    """
    if settings.is_production:
        raise ConfigurationError("demo data is refused in production")
    if await InsuredPerson.exists().where(InsuredPerson.nir == CAMILLE):
        await _demo_directory(settings)
        return False
    codes = dict(zip(PENDING, PENDING_CODES, strict=True))
    await import_registry(settings, registry_rows(), codes=codes)
    await _demo_directory(settings)
    async with database.transaction():
        await _citizen_account(settings, CAMILLE, TOTP_SECRETS["camille"])
        await _citizen_account(settings, DOMINIQUE, TOTP_SECRETS["dominique"])
        owner = await InsuredPerson.select(InsuredPerson.id).where(InsuredPerson.nir == CAMILLE).first()
        delegate = await InsuredPerson.select(InsuredPerson.id).where(
            InsuredPerson.nir == DOMINIQUE).first()
        now = utcnow()
        await Delegation.insert(Delegation(
            owner=owner["id"], delegate=delegate["id"], label="Dominique Exemple",
            scopes=["present_card"], accepted_at=now, ends_at=now + timedelta(days=90),
            invitation_hash=keyed_hash(settings.secrets.hmac_key, f"invite:{normalise_code('seeded')}"),
        ))
    await _seed_documents(settings)
    await _seed_prescriptions(settings)
    return True


def sample_pdf(text: str) -> bytes:
    """A small, valid one-page PDF showing ``text`` (demo documents)."""
    safe = text.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 14 Tf 50 780 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# (author, patient, type, title, care date, extra flags)
DEMO_DOCUMENTS = [
    ("gp", CAMILLE, "57833-6", "Ordonnance - traitement de fond", "2026-10-02", {}),
    ("gp", CAMILLE, "11488-4", "Consultation de suivi", "2026-10-02", {}),
    ("gp", CAMILLE, "68599-0", "Synthèse psychiatrique", "2026-06-14", {}),
    ("gp", CAMILLE, "11502-2", "Bilan sanguin annuel", "2026-09-20", {}),
    ("radiologist", CAMILLE, "18748-4", "Radiographie du genou droit", "2026-08-30", {}),
    ("gp", CAMILLE, "11369-6", "Historique des vaccinations", "2026-01-15", {}),
    ("gp", LEO, "11488-4", "Consultation pédiatrique", "2026-05-10", {}),
    ("gp", LEO, "11488-4", "Consultation confidentielle", "2026-07-01", {"hidden_from_guardians": True}),
]


async def _seed_documents(settings: Settings) -> None:
    from backend.access.tables import CareRelation
    from backend.core.text import fold
    from backend.documents.catalogue import TYPES
    from backend.documents.policy import operator_policy
    from backend.documents.repository import DocumentRepository
    from backend.documents.services import blob_store
    from backend.professionals.tables import Professional

    pros = {name: await Professional.select().where(Professional.rpps == number).first()
            for name, number in (("gp", GP_RPPS), ("radiologist", RADIOLOGIST_RPPS))}
    people = {n: (await InsuredPerson.select(InsuredPerson.id).where(InsuredPerson.nir == n).first())["id"]
              for n in (CAMILLE, LEO)}
    for author, patient, type_code, title, care_date, flags in DEMO_DOCUMENTS:
        pro = pros[author]
        blob_id = __import__("uuid").uuid4().hex
        stored = await blob_store(settings).put(blob_id, sample_pdf(title))
        name = f"{pro['first_name']} {pro['last_name']}"
        await DocumentRepository(operator_policy(people[patient])).insert({
            "person": people[patient], "type_code": type_code, "category": TYPES[type_code]["category"],
            "title": title, "care_date": date.fromisoformat(care_date),
            "author_professional": pro["id"], "author_label": name, "structure_name": pro["structure_name"],
            "source": "professional", "added_by": name, "media_type": "application/pdf",
            "filename": fold(title).replace(" ", "-") + ".pdf", "size": stored.size, "sha256": stored.sha256,
            "blob_id": blob_id, "wrapped_key": stored.wrapped_key, **flags})
    for patient in (CAMILLE, LEO):
        await CareRelation.insert(CareRelation(person=people[patient], professional=pros["gp"]["id"],
                                               role="gp"))


async def _demo_actor(settings: Settings, kind: str, identifier: str):
    """A demo account acting without a browser session (the seed writes through the services)."""
    from backend.core.auth import Actor

    account = await Account.select().where(Account.login_key == login_key(settings, kind, identifier)).first()
    return Actor(account_id=account["id"], kind=kind, session_id="demo-seed", stage="active",
                 person_id=account["person"], professional_id=account["professional"],
                 authenticated_at=utcnow())


def _dosage(dose: float, unit: str, times: int, days: int, text: str | None = None) -> dict:
    return {"dose_value": dose, "dose_unit": unit, "frequency": times, "period": 1, "period_unit": "d",
            "route": "oral", "duration_days": days, "text": text}


# Dr MÉDECIN's e-prescriptions for Camille: (lines, consent); the second is partly dispensed.
DEMO_PRESCRIPTIONS = [
    ([{"cis": "60234100", "dosage": _dosage(1, "comprimé", 3, 5, "Au milieu des repas."), "quantity": 1},
      {"cis": "64672103", "dosage": _dosage(1, "comprimé", 2, 7), "quantity": 1}], True),
    ([{"cis": "65143010", "dosage": _dosage(1, "comprimé", 1, 30, "Le matin à jeun."), "quantity": 1,
       "renewals": 2, "non_substitutable": True, "non_substitution_reason": "MTE"}], True),
]


async def _seed_prescriptions(settings: Settings) -> None:
    """Camille's e-prescriptions from Dr MÉDECIN, each with its PDF in her record; Bruno OFFICINE's
    pharmacy already dispensed part of the second one."""
    from backend.messaging import services as messaging
    from backend.prescriptions import services as prescriptions

    gp = await _demo_actor(settings, "pro", GP_RPPS)
    pharmacist = await _demo_actor(settings, "pro", PHARMACIST_RPPS)
    camille = (await InsuredPerson.select(InsuredPerson.id).where(InsuredPerson.nir == CAMILLE).first())["id"]
    written = [await prescriptions.write(settings, gp, camille, {"lines": ls, "dispensing_visible": consent})
               for ls, consent in DEMO_PRESCRIPTIONS]
    citizen = await _demo_actor(settings, "citizen", CAMILLE)
    [pharmacy] = await search_structures(STRUCTURES["pharmacy"]["structure_name"])
    await prescriptions.set_my_pharmacy(citizen, camille, pharmacy["id"])
    # She sent the second one to her pharmacy, which dispensed part of it and answered.
    thread = await prescriptions.send_to_pharmacy(settings, citizen, written[1]["id"], pharmacy["id"],
                                                  "Bonjour, je passe vers 18h.")
    opened = await prescriptions.for_pro(pharmacist, written[1]["id"])
    await prescriptions.dispense(pharmacist, opened["id"], [
        {"line_id": opened["lines"][0]["id"], "quantity": 1, "expected_dispensed": 0}])
    await messaging.post_message(settings, pharmacist, thread["id"],
                                 text="Bonjour, votre commande est prête : une boîte sur trois est délivrée.")


def summary() -> str:
    """The demo logins, printed by ./scripts/run."""
    lines = [
        "Demo accounts (DEMO ONLY) - password for all: " + DEMO_PASSWORD,
        f"  citizen   Camille INVENTÉE   NIR {CAMILLE}   TOTP secret {TOTP_SECRETS['camille']}",
        f"  caregiver Dominique EXEMPLE  NIR {DOMINIQUE}   TOTP secret {TOTP_SECRETS['dominique']}",
        f"  GP        Alice MÉDECIN      RPPS {GP_RPPS}   TOTP secret {TOTP_SECRETS['gp']}",
        f"  pharmacist Bruno OFFICINE    RPPS {PHARMACIST_RPPS}   TOTP secret {TOTP_SECRETS['pharmacist']}",
        f"  pharmacist Inès COMPTOIR     RPPS {PHARMACIST2_RPPS}   TOTP secret {TOTP_SECRETS['pharmacist2']}"
        "   (same pharmacy)",
        f"  radiologist Chloé IMAGERIE   RPPS {RADIOLOGIST_RPPS}   TOTP secret {TOTP_SECRETS['radiologist']}",
        "Not yet activated (NIR / date of birth / activation code):",
    ]
    births = {PENDING[0]: "1990-01-30", PENDING[1]: "1995-08-08", PENDING[2]: "1988-02-02"}
    for person_nir, code in zip(PENDING, PENDING_CODES, strict=True):
        lines.append(f"  {person_nir} / {births[person_nir]} / {code}")
    lines.append("Pharmacies (FINESS / name / commune):")
    for structure in STRUCTURES.values():
        if structure["structure_kind"] == "pharmacy":
            lines.append(f"  {structure['finess']} / {structure['structure_name']} / "
                         f"{structure['postcode']} {structure['commune']}")
    return "\n".join(lines)


