"""Professional directory: RPPS-identified practitioners and their structures (FINESS)."""

from piccolo.columns import UUID, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Professional(Table, tablename="professional"):
    id = UUID(primary_key=True)
    rpps = Varchar(length=11, unique=True)
    last_name = Varchar(length=100)
    first_name = Varchar(length=100)
    profession_code = Varchar(length=4)
    specialty = Varchar(length=100, null=True, default=None)
    structure_name = Varchar(length=200)
    finess = Varchar(length=9)  # the structure the professional works in (several share one)
    email = Varchar(length=254, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Structure(Table, tablename="structure"):
    """A place of care identified by its FINESS number: a pharmacy, a practice, a hospital, imaging."""

    id = UUID(primary_key=True)
    finess = Varchar(length=9, unique=True)
    kind = Varchar(length=10, default="practice")  # pharmacy | practice | hospital | imaging
    name = Varchar(length=200)
    address = Varchar(length=200, default="")  # street line; empty when unknown
    postcode = Varchar(length=5, default="")  # empty when unknown
    commune = Varchar(length=100, default="")  # empty when unknown
    opening_hours = Varchar(length=200, null=True, default=None)
    search_text = Text(default="")  # name, commune and postcode folded for search (see directory.search_key)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
