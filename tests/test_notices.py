"""The notices a citizen reads on their profile: whole sentences in both languages, for what
they expect to hear about, and never a document's title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.docworld import feed, row_of

PRO_DOC = "Compte rendu opératoire du genou"


def _notices(api, person_id, kind=None):
    notes = api.get(f"/api/profiles/{person_id}/notifications").json()
    return [n for n in notes if kind is None or n["kind"] == kind]


def test_a_first_access_reads_as_a_sentence(world):
    [first] = [n for n in _notices(world.patient.api, world.patient.person_id, "access.pro")
               if "GENERALISTE" in n["text_fr"]]
    assert first["text_fr"] == ("Test GENERALISTE, professionnel de santé, "
                                "a consulté votre dossier pour la première fois.")
    assert first["text_en"].endswith("a health professional, accessed your record for the first time.")


def test_a_professionals_new_document_is_announced_without_its_title(world, run):
    api, pid = world.patient.api, world.patient.person_id
    before = len(_notices(api, pid, "notice.document_added"))
    feed(world.pros["radiologist"], run(row_of, pid), "11488-4", PRO_DOC)
    notes = _notices(api, pid, "notice.document_added")
    assert len(notes) == before + 1
    newest = max(notes, key=lambda n: n["created_at"])
    assert newest["text_fr"] == "Test RADIO (Structure de test) a ajouté un document à votre dossier."
    assert newest["text_en"] == "Test RADIO (Structure de test) added a document to your record."
    assert all(PRO_DOC not in n["text_fr"] + n["text_en"] for n in notes)


def test_a_document_held_for_announcement_is_notified_when_released(world, run):
    api, pid = world.patient.api, world.patient.person_id
    before = len(_notices(api, pid, "notice.document_added"))
    doc = feed(world.pros["gp"], run(row_of, pid), "11502-2", "Résultat délicat", announce_later=True)
    assert len(_notices(api, pid, "notice.document_added")) == before
    r = world.pros["gp"].api.post(f"/api/pro/documents/{doc}/announce")
    assert r.status_code == 200, r.text
    assert len(_notices(api, pid, "notice.document_added")) == before + 1
    # Announcing it again tells nothing new.
    world.pros["gp"].api.post(f"/api/pro/documents/{doc}/announce")
    assert len(_notices(api, pid, "notice.document_added")) == before + 1


def test_a_minors_secret_leaves_no_notice_for_the_parents(world, run):
    api, child = world.patient.api, world.child_id
    before = len(_notices(api, child, "notice.document_added"))
    child_row = run(row_of, child)
    feed(world.pros["gp"], {**child_row, "first_names": child_row["first_names"]}, "11488-4",
         "Consultation confidentielle 2", hidden_from_guardians=True)
    assert len(_notices(api, child, "notice.document_added")) == before
    feed(world.pros["gp"], {**child_row, "first_names": child_row["first_names"]}, "11488-4", "Vaccin")
    assert len(_notices(api, child, "notice.document_added")) == before + 1


def test_a_caregiver_presenting_the_card_and_an_accepted_invitation_are_notified(world, make_api, run,
                                                                                 settings):
    from tests.factories import PASSWORD, activated_citizen, reauthenticate

    api, pid = world.patient.api, world.patient.person_id
    reauthenticate(api, world.patient.totp_secret, PASSWORD)
    ends = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    d = api.post(f"/api/profiles/{pid}/delegations",
                 json={"label": "Ma sœur", "scopes": ["present_card"], "ends_at": ends}).json()
    sister = activated_citizen(make_api, run, settings, birth_name="SOEUR")
    assert sister.api.post("/api/delegations/accept", json={"code": d["invitation_code"]}).status_code == 200
    [accepted] = [n for n in _notices(api, pid, "notice.delegation_accepted") if "Ma sœur" in n["text_fr"]]
    assert accepted["text_fr"].endswith("a accepté votre invitation « Ma sœur » et peut agir pour vous.")
    assert "SOEUR" in accepted["text_fr"] and "accepted your invitation 'Ma sœur'" in accepted["text_en"]
    assert sister.api.post(f"/api/profiles/{pid}/presentations").status_code == 201
    [presented] = _notices(api, pid, "notice.card_presented")
    assert presented["text_fr"].endswith("a présenté votre carte.") and "SOEUR" in presented["text_fr"]
    # The holder presenting their own card is no news.
    assert api.post(f"/api/profiles/{pid}/presentations").status_code == 201
    assert len(_notices(api, pid, "notice.card_presented")) == 1
