"""Request and response bodies of the documents slice."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile

from backend.access.schemas import PatientOut as PatientOut  # a patient as a professional reaches them
from backend.core.schemas import Body, Nir, Out


class DocumentOut(Out):
    id: UUID
    person_id: UUID
    type_code: str
    type_label: str
    category: str
    title: str
    care_date: date
    author: str
    structure: str | None
    source: str
    added_by: str
    media_type: str
    filename: str
    size: int
    sha256: str | None
    version: int
    masked: bool
    hidden_from_guardians: bool
    announced: bool
    created_at: datetime


class DocumentPage(Out):
    items: list[DocumentOut]
    total: int
    page: int
    page_size: int


class CategoryOut(Out):
    code: str
    label: str
    types: dict[str, str]


@dataclass
class CitizenUpload:
    """Multipart form of a citizen upload."""

    file: UploadFile
    title: str
    type_code: str | None = None
    care_date: date | None = None


@dataclass
class ProUpload:
    """Multipart form of a professional feed: the patient's INS and strict traits, then the document."""

    file: UploadFile
    ins: str
    birth_name: str
    first_name: str
    birth_date: date
    sex: str
    type_code: str
    title: str
    care_date: date
    birthplace_code: str | None = None
    hidden_from_guardians: bool = False
    announce_later: bool = False


@dataclass
class ReplaceUpload:
    file: UploadFile
    title: str | None = None


class DocumentSearchIn(Body):
    """Filters travel in the body, never in the URL: titles and authors can reveal health data."""

    category: Annotated[str, msgspec.Meta(max_length=30)] | None = None
    type_code: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    author: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    sort: Literal["-care_date", "care_date", "title", "-created_at"] = "-care_date"
    page: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    page_size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


class MaskIn(Body):
    masked: bool


class PatientSearchIn(Body):
    ins: Nir
    birth_name: Annotated[str, msgspec.Meta(max_length=100)]
    first_name: Annotated[str, msgspec.Meta(max_length=100)]
    birth_date: date
    sex: Literal["M", "F"]
    birthplace_code: Annotated[str, msgspec.Meta(max_length=5)] | None = None
