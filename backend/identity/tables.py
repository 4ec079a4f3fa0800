"""Identity tables: insured persons with their insurance, guardianship links, activation codes."""

from piccolo.columns import (
    UUID,
    Array,
    Boolean,
    Date,
    ForeignKey,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.professionals.tables import Professional


class InsuredPerson(Table, tablename="insured_person"):
    """A person known to the compulsory insurer, with strict identity traits and rights."""

    id = UUID(primary_key=True)
    nir = Varchar(length=15, unique=True)
    identity_status = Varchar(length=5, default="PROV")
    birth_name = Varchar(length=100)
    first_names = Array(base_column=Varchar(length=100))
    first_name = Varchar(length=100)
    used_name = Varchar(length=100, null=True, default=None)
    birth_date = Date()
    sex = Varchar(length=1)
    birthplace_code = Varchar(length=5)
    email = Varchar(length=254, null=True, default=None)
    # Compulsory insurer attachment (AMO).
    amo_regime = Varchar(length=100)
    amo_caisse = Varchar(length=100)
    amo_caisse_code = Varchar(length=9)
    amo_rights_start = Date()
    amo_rights_end = Date(null=True, default=None)
    # Complementary insurer (AMC), optional.
    amc_organisation = Varchar(length=100, null=True, default=None)
    amc_number = Varchar(length=10, null=True, default=None)
    amc_contract = Varchar(length=40, null=True, default=None)
    amc_tpp_start = Date(null=True, default=None)
    amc_tpp_end = Date(null=True, default=None)
    emergency_access_opposed = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    activated_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class Guardianship(Table, tablename="guardianship"):
    """A parent (legal representative) of a beneficiary child."""

    id = UUID(primary_key=True)
    parent = ForeignKey(references=InsuredPerson, index=True)
    child = ForeignKey(references=InsuredPerson, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class ActivationCode(Table, tablename="activation_code"):
    """A one-time activation code sent by mail (to a citizen or a professional), stored hashed."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, null=True, default=None, index=True)
    professional = ForeignKey(references=Professional, null=True, default=None, index=True)
    code_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Presentation(Table, tablename="card_presentation"):
    """A presentation token issued for a card; single use, recorded when used."""

    id = UUID(primary_key=True)
    jti = Varchar(length=32, unique=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    presenter_account = UUID(null=True, default=None)
    delegation = UUID(null=True, default=None)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    used_by = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
