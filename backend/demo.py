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
from backend.professionals.directory import import_directory
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

# Demo TOTP secrets (base32). Printed in the README, never used outside demo mode.
TOTP_SECRETS = {
    "camille": "JBSWY3DPEHPK3PXPCAMILLEDEMOAAAAA",
    "dominique": "JBSWY3DPEHPK3PXPDOMINIQUEDEMOAAA",
    "gp": "JBSWY3DPEHPK3PXPMEDECINDEMOAAAAA",
    "pharmacist": "JBSWY3DPEHPK3PXPPHARMADEMOAAAAAA",
    "radiologist": "JBSWY3DPEHPK3PXPRADIODEMOAAAAAAA",
}


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


def directory_rows() -> list[dict]:
    return [
        {"rpps": GP_RPPS, "last_name": "MÉDECIN", "first_name": "Alice", "profession_code": "10",
         "specialty": "Médecine générale", "structure_name": "Cabinet du Parc",
         "finess": finess("75000001")},
        {"rpps": PHARMACIST_RPPS, "last_name": "OFFICINE", "first_name": "Bruno",
         "profession_code": "21", "specialty": None, "structure_name": "Pharmacie de la Gare",
         "finess": finess("75000002")},
        {"rpps": RADIOLOGIST_RPPS, "last_name": "IMAGERIE", "first_name": "Chloé",
         "profession_code": "10", "specialty": "Radiologie", "structure_name": "Centre d'imagerie Lumière",
         "finess": finess("75000003")},
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


async def seed(settings: Settings) -> bool:
    """Create the demo world once. Returns False when it was already there."""
    if settings.is_production:
        raise ConfigurationError("demo data is refused in production")
    if await InsuredPerson.exists().where(InsuredPerson.nir == CAMILLE):
        return False
    codes = dict(zip(PENDING, PENDING_CODES, strict=True))
    await import_registry(settings, registry_rows(), codes=codes)
    await import_directory(settings, directory_rows(), open_pro_account)
    async with database.transaction():
        await _citizen_account(settings, CAMILLE, TOTP_SECRETS["camille"])
        await _citizen_account(settings, DOMINIQUE, TOTP_SECRETS["dominique"])
        for name, number in (("gp", GP_RPPS), ("pharmacist", PHARMACIST_RPPS),
                             ("radiologist", RADIOLOGIST_RPPS)):
            await _credentials(settings, "pro", number, TOTP_SECRETS[name])
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


def summary() -> str:
    """The demo logins, printed by ./scripts/run."""
    lines = [
        "Demo accounts (DEMO ONLY) - password for all: " + DEMO_PASSWORD,
        f"  citizen   Camille INVENTÉE   NIR {CAMILLE}   TOTP secret {TOTP_SECRETS['camille']}",
        f"  caregiver Dominique EXEMPLE  NIR {DOMINIQUE}   TOTP secret {TOTP_SECRETS['dominique']}",
        f"  GP        Alice MÉDECIN      RPPS {GP_RPPS}   TOTP secret {TOTP_SECRETS['gp']}",
        f"  pharmacist Bruno OFFICINE    RPPS {PHARMACIST_RPPS}   TOTP secret {TOTP_SECRETS['pharmacist']}",
        f"  radiologist Chloé IMAGERIE   RPPS {RADIOLOGIST_RPPS}   TOTP secret {TOTP_SECRETS['radiologist']}",
        "Not yet activated (NIR / date of birth / activation code):",
    ]
    births = {PENDING[0]: "1990-01-30", PENDING[1]: "1995-08-08", PENDING[2]: "1988-02-02"}
    for person_nir, code in zip(PENDING, PENDING_CODES, strict=True):
        lines.append(f"  {person_nir} / {births[person_nir]} / {code}")
    return "\n".join(lines)


