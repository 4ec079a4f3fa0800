"""A fresh little world for the record tests: a family, a caregiver, professionals, documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp

from backend import demo
from backend.accounts.services import open_pro_account
from backend.professionals.directory import import_directory
from tests.conftest import Api
from tests.factories import activated_citizen, fresh_rpps, fresh_totp, import_persons, person_row

PDF = demo.sample_pdf("Compte rendu de test")


def pdf(text: str | None = None) -> bytes:
    """A distinct small PDF (the record refuses the same file twice)."""
    import uuid

    return demo.sample_pdf(text or f"Document {uuid.uuid4()}")


@dataclass
class Pro:
    api: Any
    id: str
    rpps: str
    name: str


@dataclass
class World:
    patient: Any
    child_id: str
    pros: dict[str, Pro] = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)
    citizens: dict[str, Any] = field(default_factory=dict)


def make_pro(main, run, settings, profession: str, last_name: str) -> Pro:
    rpps = fresh_rpps()
    [res] = run(import_directory, settings, [{
        "rpps": rpps, "last_name": last_name, "first_name": "Test", "profession_code": profession,
        "structure_name": "Structure de test", "finess": "750000010"}], open_pro_account)
    secret = pyotp.random_base32()
    run(demo._credentials, settings, "pro", rpps, secret)
    api = Api(main)
    api.post("/api/auth/login", json={"identifier": rpps, "password": demo.DEMO_PASSWORD, "kind": "pro"})
    r = api.post("/api/auth/login/totp", json={"code": fresh_totp(secret)})
    assert r.status_code == 200, r.text
    return Pro(api, res.person_id, rpps, f"Test {last_name}")


def feed(pro: Pro, patient_row: dict, type_code: str, title: str, **extra) -> str:
    form = {"ins": patient_row["nir"], "birth_name": patient_row["birth_name"],
            "first_name": patient_row["first_names"][0], "birth_date": str(patient_row["birth_date"]),
            "sex": patient_row["sex"], "type_code": type_code, "title": title, "care_date": "2026-10-01",
            **{k: str(v).lower() for k, v in extra.items()}}
    r = pro.api.post("/api/pro/documents", data=form,
                     files={"file": ("cr.pdf", pdf(f"{title} {patient_row['nir']}"), "application/pdf")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def build_world(main, run, settings) -> World:
    def make_api(lang="fr"):
        return Api(main, lang)

    patient = activated_citizen(make_api, run, settings)
    prow = run(row_of, patient.person_id)
    child = person_row(_sex="1", parent_nirs=[patient.nir], birth_date="2014-03-03")
    [res] = import_persons(run, settings, [child])
    world = World(patient=patient, child_id=res.person_id)
    for key, prof, name in (("gp", "10", "GENERALISTE"), ("pharmacist", "21", "PHARMA"),
                            ("podiatrist", "80", "PODO"), ("radiologist", "10", "RADIO"),
                            ("stranger", "10", "INCONNU"), ("granted", "10", "INVITE"),
                            ("blocked", "21", "BLOQUE")):
        world.pros[key] = make_pro(main, run, settings, prof, name)
    api = patient.api
    pid = patient.person_id
    assert api.post(f"/api/profiles/{pid}/care-team", json={"rpps": world.pros["gp"].rpps,
                                                           "role": "gp"}).status_code == 204
    assert api.post(f"/api/profiles/{pid}/care-team", json={"rpps": world.pros["granted"].rpps,
                                                           "role": "granted"}).status_code == 204
    gp = world.pros["gp"]
    world.docs = {
        "prescription": feed(gp, prow, "57833-6", "Ordonnance"),
        "lab": feed(gp, prow, "11502-2", "Bilan sanguin"),
        "psych": feed(gp, prow, "68599-0", "Synthèse psychiatrique"),
        "birth": feed(gp, prow, "15508-5", "Compte rendu d'accouchement"),
        "consultation": feed(gp, prow, "11488-4", "Consultation"),
        "masked": feed(gp, prow, "11502-2", "Sérologie à masquer"),
        "unannounced": feed(gp, prow, "11502-2", "Résultat à annoncer", announce_later=True),
        "imaging": feed(world.pros["radiologist"], prow, "18748-4", "Radiographie"),
    }
    assert api.post(f"/api/documents/{world.docs['masked']}/mask", json={"masked": True}).status_code == 200
    child_row = {**child, "first_names": child["first_names"]}
    world.docs["child_visit"] = feed(gp, child_row, "11488-4", "Consultation enfant")
    world.docs["child_secret"] = feed(gp, child_row, "11488-4", "Consultation confidentielle",
                                      hidden_from_guardians=True)
    ends = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    for key, scopes in (("caregiver", ["read_documents", "add_documents"]),
                        ("card_only", ["present_card"]), ("revoked", ["read_documents"])):
        citizen = activated_citizen(make_api, run, settings, birth_name="AIDANT")
        d = api.post(f"/api/profiles/{pid}/delegations", json={"label": key, "scopes": scopes,
                                                               "ends_at": ends}).json()
        assert citizen.api.post("/api/delegations/accept", json={"code": d["invitation_code"]}).status_code == 200
        citizen.delegation_id = d["id"]
        world.citizens[key] = citizen
    api.delete(f"/api/delegations/{world.citizens['revoked'].delegation_id}")
    world.citizens["other"] = activated_citizen(make_api, run, settings)
    return world


async def row_of(person_id):
    from backend.identity.tables import InsuredPerson

    return await InsuredPerson.select().where(InsuredPerson.id == person_id).first()
