"""NIR, INS, RPPS and FINESS validation."""

from __future__ import annotations

import random

import pytest
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from backend.core.errors import InvalidIdentifier
from backend.identity.identifiers import build_ins, mask_nir, nir_key, validate_nir
from backend.professionals.identifiers import luhn_valid, validate_finess, validate_rpps

# Independent references: python-stdnum's French NIR and Luhn, not this module's own formula.
EXTERNAL_NIRS = ["284057505612387", "190013155501276", "295081305503431", "188022A00402160"]


def _random_bodies(count: int) -> list[str]:
    rng = random.Random(20261122)  # fixed seed: the same bodies on every run
    bodies = []
    for i in range(count):
        dept = rng.choice(["2A", "2B"]) if i % 10 == 0 else f"{rng.randint(1, 99):02d}"
        bodies.append(f"{rng.choice('12')}{rng.randint(0, 99):02d}{rng.randint(1, 99):02d}{dept}"
                      f"{rng.randint(0, 999):03d}{rng.randint(1, 999):03d}")
    return bodies


@pytest.mark.parametrize("nir", EXTERNAL_NIRS)
def test_known_nirs_pass_both_this_module_and_the_reference(nir):
    assert stdnum_nir.is_valid(nir)
    assert validate_nir(nir) == nir


def test_keys_agree_with_python_stdnum_on_thousands_of_bodies():
    for body in _random_bodies(5000):
        expected = stdnum_nir.calc_check_digits(body)
        assert f"{nir_key(body):02d}" == expected, body
        assert validate_nir(body + expected) == body + expected
        wrong = f"{(int(expected) % 97) + 1:02d}"
        assert not stdnum_nir.is_valid(body + wrong)
        with pytest.raises(InvalidIdentifier):
            validate_nir(body + wrong)


def test_luhn_agrees_with_python_stdnum():
    rng = random.Random(7)
    for _ in range(2000):
        body = f"{rng.randint(10**9, 10**10 - 1)}"
        digit = luhn.calc_check_digit(body)
        assert validate_rpps(body + digit) == body + digit
        assert luhn_valid(body + digit) and not luhn_valid(body + str((int(digit) + 1) % 10))


def test_valid_nir_with_spaces_is_normalised():
    body = "2840575056123"
    nir = f"{body}{nir_key(body):02d}"
    spaced = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    assert validate_nir(spaced) == nir


@pytest.mark.parametrize("dept, replacement", [("2A", "19"), ("2B", "18")])
def test_corsican_nir(dept, replacement):
    body = f"18802{dept}004021"
    key = int(stdnum_nir.calc_check_digits(body))
    assert key == 97 - int(body.replace(dept, replacement)) % 97
    assert validate_nir(f"{body}{key:02d}") == f"{body}{key:02d}"
    wrong = (key % 97) + 1
    with pytest.raises(InvalidIdentifier):
        validate_nir(f"{body}{wrong:02d}")


def test_wrong_key_names_field_rule_and_values():
    body = "2840575056123"
    good = nir_key(body)
    bad = 12 if good != 12 else 13
    with pytest.raises(InvalidIdentifier) as exc:
        validate_nir(f"{body}{bad:02d}")
    assert exc.value.detail == f"Clé NIR invalide : attendu {good:02d}, reçu {bad:02d}."
    assert exc.value.errors == [{"field": "nir", "rule": "key", "message": exc.value.detail,
                                 "message_en": f"Invalid NIR key: expected {good:02d}, got {bad:02d}."}]


@pytest.mark.parametrize("value, rule", [
    ("12345", "length"),
    ("9840575056123" + "00", "format"),  # sex digit 9 does not exist
    ("28405X5056123" + "00", "format"),
])
def test_malformed_nir(value, rule):
    with pytest.raises(InvalidIdentifier) as exc:
        validate_nir(value)
    assert exc.value.errors[0]["rule"] == rule


def test_unusual_birth_month_is_accepted_when_the_key_is_right():
    body = "1843375056123"  # month 33: unknown or particular birth
    assert validate_nir(f"{body}{nir_key(body):02d}")


def test_ins_usable_only_when_qualified():
    assert build_ins("x", "1.2.250.1.213.1.4.8", "QUAL").usable
    for status in ("PROV", "RECUP", "VALI"):
        assert not build_ins("x", "1.2.250.1.213.1.4.8", status).usable


def test_masked_nir_hides_place_and_order():
    assert mask_nir("284057505612387") == "2 84 05 •• ••• ••• ••"


def test_rpps_luhn():
    assert luhn_valid("79927398713")  # the textbook Luhn example
    assert validate_rpps("10000000017") == "10000000017"
    with pytest.raises(InvalidIdentifier) as exc:
        validate_rpps("10000000018")
    assert exc.value.detail == "Chiffre de contrôle RPPS invalide : attendu 7, reçu 8."
    with pytest.raises(InvalidIdentifier):
        validate_rpps("1234")


def test_finess():
    assert validate_finess("750000010")
    with pytest.raises(InvalidIdentifier) as exc:
        validate_finess("750000011")
    assert exc.value.errors[0]["rule"] == "check-digit"
    assert validate_finess("2A0000012") == "2A0000012"  # Corsica: format only
    with pytest.raises(InvalidIdentifier):
        validate_finess("2C0000012")
