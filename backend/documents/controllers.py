"""HTTP edges of the documents slice (citizen side and professional side)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from backend.core.auth import Actor, provide_actor, require_pro
from backend.core.errors import (
    Conflict,
    Forbidden,
    InvalidIdentifier,
    TooManyAttempts,
    Unprocessable,
    UnsupportedMediaType,
)
from backend.core.settings import Settings
from backend.documents import services
from backend.documents.sanitise import ACCEPTED_TYPES
from backend.documents.schemas import (
    CategoryOut,
    CitizenUpload,
    DocumentOut,
    DocumentPage,
    DocumentSearchIn,
    MaskIn,
    PatientOut,
    PatientSearchIn,
    ProUpload,
    ReplaceUpload,
)

UPLOAD_LIMIT = 64_000_000  # transport ceiling; the configured document limit is checked after
Multipart = Body(media_type=RequestEncodingType.MULTI_PART)
CONTENT_CSP = {
    # Sandboxed with an opaque origin: the viewer may run, the file can reach nothing of Carnet's.
    "application/pdf": "sandbox allow-scripts allow-downloads; default-src 'none'; object-src 'self'; "
                       "plugin-types application/pdf; frame-ancestors 'self'",
}
SANDBOX_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"


Page = Annotated[int, Parameter(ge=1, le=services.MAX_PAGE, description="Page number, from 1.")]
PageSize = Annotated[int, Parameter(ge=1, le=services.MAX_PAGE_SIZE, description="Documents per page.")]
Sort = Literal["-care_date", "care_date", "title", "-created_at"]


def _page(data: dict) -> DocumentPage:
    return msgspec.convert(data, DocumentPage)


class CatalogueController(Controller):
    path = "/api/document-types"
    tags = ["documents"]

    @get("/", operation_id="documentTypes")
    async def catalogue(self) -> list[CategoryOut]:
        """The document classes (LOINC) grouped into the categories citizens see."""
        return [CategoryOut(code=code, label=cat["fr"],
                            types={t: v["fr"] for t, v in services.TYPES.items() if v["category"] == code})
                for code, cat in services.CATEGORIES.items()]


class DocumentController(Controller):
    path = "/api"
    tags = ["documents"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/profiles/{profile_id:uuid}/documents", operation_id="listDocuments", raises=[Unprocessable])
    async def list_documents(self, profile_id: UUID, actor: Actor, sort: Sort = "-care_date", page: Page = 1,
                             page_size: PageSize = 20) -> DocumentPage:
        """The documents this actor may see, newest care date first (filters: the search endpoint)."""
        return _page(await services.list_documents(actor, profile_id, sort=sort, page=page,
                                                    page_size=page_size))

    @post("/profiles/{profile_id:uuid}/documents/search", operation_id="searchDocuments", status_code=200,
          raises=[Unprocessable])
    async def search_documents(self, profile_id: UUID, data: DocumentSearchIn, actor: Actor) -> DocumentPage:
        """Filter by category, type, author, period and title words (in the body, not the URL)."""
        return _page(await services.list_documents(actor, profile_id, **msgspec.structs.asdict(data)))

    @post("/profiles/{profile_id:uuid}/documents", operation_id="addDocument", status_code=201,
          raises=[Unprocessable, Conflict, UnsupportedMediaType],
          request_max_body_size=UPLOAD_LIMIT)
    async def add_document(self, request: Request, profile_id: UUID, actor: Actor, settings: Settings,
                           data: Annotated[CitizenUpload, Multipart]) -> DocumentOut:
        """Add a photo or a file (PDF, JPEG, PNG, text). ``Idempotency-Key`` makes retries safe."""
        doc = await services.add_citizen_document(
            settings, actor, profile_id, data.file.file, data.file.filename, title=data.title,
            type_code=data.type_code, care_date=data.care_date,
            idempotency_key=request.headers.get("idempotency-key"))
        return msgspec.convert(doc, DocumentOut)

    @get("/documents/{document_id:uuid}", operation_id="getDocument")
    async def get_document(self, document_id: UUID, actor: Actor) -> DocumentOut:
        return msgspec.convert(await services.get_document(actor, document_id), DocumentOut)

    @get("/documents/{document_id:uuid}/content", operation_id="documentContent",
         media_type="application/octet-stream", opt={"content_types": ACCEPTED_TYPES})
    async def content(self, document_id: UUID, actor: Actor, settings: Settings,
                      download: bool = False) -> Response[bytes]:
        """The file, checked against its hash; inline (sandboxed) or as a download."""
        data, row = await services.read_content(settings, actor, document_id)
        disposition = "attachment" if download else "inline"
        name = row["filename"]
        ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
        return Response(data, media_type=row["media_type"], headers={
            "Content-Disposition":
                f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": CONTENT_CSP.get(row["media_type"], SANDBOX_CSP),
            "X-Frame-Options": "SAMEORIGIN",
        })

    @post("/documents/{document_id:uuid}/mask", operation_id="maskDocument", status_code=200,
          raises=[Conflict])
    async def mask(self, document_id: UUID, data: MaskIn, actor: Actor) -> DocumentOut:
        """Hide a document from professionals (its author and the GP still see it), or unhide it."""
        return msgspec.convert(await services.set_masked(actor, document_id, data.masked), DocumentOut)

    @delete("/documents/{document_id:uuid}", operation_id="deleteDocument", raises=[Conflict])
    async def delete_document(self, document_id: UUID, actor: Actor, settings: Settings) -> None:
        await services.delete_citizen_document(settings, actor, document_id)


class ProDocumentController(Controller):
    path = "/api/pro"
    tags = ["professionals", "documents"]
    dependencies = {"actor": Provide(provide_actor)}

    @post("/patients/search", operation_id="proFindPatient", status_code=200,
          raises=[InvalidIdentifier, Unprocessable, TooManyAttempts])
    async def find_patient(self, data: PatientSearchIn, actor: Actor) -> PatientOut:
        """Identify a patient by INS and strict traits; says which access basis you have."""
        require_pro(actor)
        person = await services.find_patient(actor, data.ins, msgspec.structs.asdict(data))
        return PatientOut(id=person["id"], first_name=person["first_name"],
                          birth_name=person["birth_name"], birth_date=person["birth_date"],
                          basis=person["basis"])

    @get("/patients/{profile_id:uuid}", operation_id="proGetPatient", raises=[Forbidden])
    async def get_patient(self, profile_id: UUID, actor: Actor) -> PatientOut:
        """A patient you have access to: name, birth date and your access basis."""
        require_pro(actor)
        return msgspec.convert(await services.patient_summary(actor, profile_id), PatientOut)

    @get("/patients/{profile_id:uuid}/documents", operation_id="proListDocuments",
         raises=[Forbidden, Unprocessable])
    async def list_documents(self, profile_id: UUID, actor: Actor, page: Page = 1,
                             page_size: PageSize = 20) -> DocumentPage:
        """What this professional may see of the patient's record (matrix, masking, basis)."""
        require_pro(actor)
        return _page(await services.list_documents(actor, profile_id, page=page, page_size=page_size))

    @post("/patients/{profile_id:uuid}/documents/search", operation_id="proSearchDocuments", status_code=200,
          raises=[Unprocessable])
    async def search_documents(self, profile_id: UUID, data: DocumentSearchIn, actor: Actor) -> DocumentPage:
        """The same list, filtered (filters in the body, not the URL)."""
        require_pro(actor)
        return _page(await services.list_documents(actor, profile_id, **msgspec.structs.asdict(data)))

    @post("/documents", operation_id="proFeedDocument", status_code=201,
          raises=[InvalidIdentifier, Unprocessable, Conflict, UnsupportedMediaType],
          request_max_body_size=UPLOAD_LIMIT)
    async def feed(self, request: Request, actor: Actor, settings: Settings,
                   data: Annotated[ProUpload, Multipart]) -> DocumentOut:
        """Feed a document; the patient is identified by INS + strict traits (QUAL identity only)."""
        require_pro(actor)
        traits = {"birth_name": data.birth_name, "first_name": data.first_name,
                  "birth_date": data.birth_date, "sex": data.sex, "birthplace_code": data.birthplace_code}
        doc = await services.feed_document(
            settings, actor, ins=data.ins, traits=traits, body=data.file.file, filename=data.file.filename,
            title=data.title, type_code=data.type_code, care_date=data.care_date,
            hidden_from_guardians=data.hidden_from_guardians, announce_later=data.announce_later,
            idempotency_key=request.headers.get("idempotency-key"))
        return msgspec.convert(doc, DocumentOut)

    @post("/documents/{document_id:uuid}/replace", operation_id="proReplaceDocument", status_code=201,
          raises=[Unprocessable, Conflict, UnsupportedMediaType],
          request_max_body_size=UPLOAD_LIMIT)
    async def replace(self, document_id: UUID, actor: Actor, settings: Settings,
                      data: Annotated[ReplaceUpload, Multipart]) -> DocumentOut:
        """Publish a new version of your own document (the previous version is kept)."""
        require_pro(actor)
        doc = await services.replace_document(settings, actor, document_id, data.file.file,
                                              data.file.filename, data.title)
        return msgspec.convert(doc, DocumentOut)

    @post("/documents/{document_id:uuid}/archive", operation_id="proArchiveDocument", status_code=204,
          raises=[Conflict])
    async def archive(self, document_id: UUID, actor: Actor) -> None:
        require_pro(actor)
        await services.archive_document(actor, document_id)

    @post("/documents/{document_id:uuid}/announce", operation_id="proAnnounceDocument", status_code=200,
          raises=[Conflict])
    async def announce(self, document_id: UUID, actor: Actor) -> DocumentOut:
        """Release a document held until the diagnosis was announced to the patient."""
        require_pro(actor)
        return msgspec.convert(await services.announce_document(actor, document_id), DocumentOut)
