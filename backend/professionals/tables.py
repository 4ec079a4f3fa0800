"""Professional directory: RPPS-identified practitioners and their structure (FINESS)."""

from piccolo.columns import UUID, Timestamptz, Varchar
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
    finess = Varchar(length=9)
    email = Varchar(length=254, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
