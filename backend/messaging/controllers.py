"""HTTP edges of the messaging slice: inboxes, threads, messages, attachments, live events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body, Parameter
from litestar.response import Stream

from backend.core.auth import Actor, provide_actor, require_pro
from backend.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyAttempts,
    Unauthenticated,
    Unprocessable,
    UnsupportedMediaType,
)
from backend.core.settings import Settings
from backend.messaging import attachments, events, services
from backend.messaging.schemas import (
    InboxOut,
    MessageIn,
    MessageOut,
    MessageUpload,
    ProInboxOut,
    ProStartThreadIn,
    ReadOut,
    StartThreadIn,
    StreamEventOut,
    ThreadOut,
    UnreadOut,
)

UPLOAD_LIMIT = 16_000_000  # transport ceiling; the attachment limit is checked after
Multipart = Body(media_type=RequestEncodingType.MULTI_PART)
InboxLimit = Annotated[int, Parameter(ge=1, le=services.MAX_INBOX, description="Threads per page.")]
InboxBefore = Annotated[datetime | None, Parameter(
    description="Threads whose last message is older than this time (the previous page's next_before).")]
PageLimit = Annotated[int, Parameter(ge=1, le=services.MAX_PAGE, description="Messages per page.")]
Cursor = Annotated[str | None, Parameter(
    max_length=40,
    pattern=r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
            r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
            r"(?:Z|[+-][0-9]{2}:[0-9]{2})?)$",
    description="Messages older than this one: a message id (the previous page's next_before) or an "
                "ISO 8601 time.")]
ATTACHMENT_CSP = {
    "application/pdf": "sandbox allow-scripts allow-downloads; default-src 'none'; object-src 'self'; "
                       "plugin-types application/pdf; frame-ancestors 'self'",
}
SANDBOX_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def _thread(data: dict) -> ThreadOut:
    return msgspec.convert(data, ThreadOut)


class CitizenThreadController(Controller):
    """The citizen side: a profile's inbox, and a new thread with a pharmacy."""

    path = "/api/profiles"
    tags = ["messaging"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/{profile_id:uuid}/threads", operation_id="listThreads", raises=[NotFound])
    async def list_threads(self, profile_id: UUID, actor: Actor, settings: Settings, limit: InboxLimit = 50,
                           before: InboxBefore = None) -> InboxOut:
        """The profile's threads, latest activity first, with unread counts (each, and in total)."""
        data = await services.list_threads(settings, actor, profile_id, before=before, limit=limit)
        return msgspec.convert(data, InboxOut)

    @post("/{profile_id:uuid}/threads", operation_id="startThread", status_code=201,
          raises=[NotFound, Unprocessable, TooManyAttempts])
    async def start_thread(self, profile_id: UUID, data: StartThreadIn, actor: Actor,
                           settings: Settings) -> ThreadOut:
        """Write to a pharmacy (the only structures a citizen starts a conversation with).

        A parent writes for a minor's profile, a caregiver with the ``messaging``
        scope for the person who delegated; documents of the record may be
        attached (each is copied into the message).
        """
        return _thread(await services.start_citizen_thread(
            settings, actor, profile_id, structure_id=data.structure_id, text=data.text, subject=data.subject,
            document_ids=data.document_ids))


class ProThreadController(Controller):
    """The professional side: the shared inbox, and a new thread with a patient."""

    path = "/api/pro"
    tags = ["messaging", "professionals"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/threads", operation_id="proListThreads", raises=[Forbidden, Unprocessable])
    async def list_threads(self, actor: Actor, settings: Settings, limit: InboxLimit = 50,
                           before: InboxBefore = None) -> ProInboxOut:
        """Your structure's shared inbox (a pharmacy) and your own threads, with unread counts."""
        require_pro(actor)
        return msgspec.convert(await services.pro_inbox(settings, actor, before=before, limit=limit),
                               ProInboxOut)

    @post("/threads", operation_id="proStartThread", status_code=201,
          raises=[Forbidden, NotFound, Unprocessable, TooManyAttempts])
    async def start_thread(self, data: ProStartThreadIn, actor: Actor, settings: Settings) -> ThreadOut:
        """Write to a patient you have a basis of access to (care team, access code, emergency)."""
        require_pro(actor)
        return _thread(await services.start_pro_thread(settings, actor, data.person_id, text=data.text,
                                                       subject=data.subject))


class ThreadController(Controller):
    """Both sides: a thread, its messages, read markers, closing, attachments, live events."""

    path = "/api"
    tags = ["messaging"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/threads/{thread_id:uuid}", operation_id="getThread", raises=[NotFound, Unprocessable])
    async def get_thread(self, thread_id: UUID, actor: Actor, settings: Settings, before: Cursor = None,
                         limit: PageLimit = services.DEFAULT_PAGE) -> ThreadOut:
        """The thread and a page of its messages, newest first; ``next_before`` gives the older page."""
        return _thread(await services.get_thread(settings, actor, thread_id, before=before, limit=limit))

    @post("/threads/{thread_id:uuid}/messages", operation_id="postMessage", status_code=201,
          raises=[NotFound, Conflict, Unprocessable, TooManyAttempts])
    async def post_message(self, thread_id: UUID, data: MessageIn, actor: Actor, settings: Settings
                           ) -> MessageOut:
        """Write in the thread (409 once it is closed); record documents may be attached as copies."""
        message = await services.post_message(settings, actor, thread_id, text=data.text,
                                              document_ids=data.document_ids)
        return msgspec.convert(message, MessageOut)

    @post("/threads/{thread_id:uuid}/messages/upload", operation_id="uploadMessage", status_code=201,
          raises=[NotFound, Conflict, Unprocessable, UnsupportedMediaType, PayloadTooLarge, TooManyAttempts],
          request_max_body_size=UPLOAD_LIMIT)
    async def upload_message(self, thread_id: UUID, actor: Actor, settings: Settings,
                             data: Annotated[MessageUpload, Multipart]) -> MessageOut:
        """Write with a photo (JPEG, PNG) or a PDF: recognised by its bytes, images re-encoded."""
        message = await services.post_message(settings, actor, thread_id, text=data.text,
                                              upload=(data.file.file, data.file.filename))
        return msgspec.convert(message, MessageOut)

    @post("/threads/{thread_id:uuid}/read", operation_id="markThreadRead", status_code=200, raises=[NotFound])
    async def mark_read(self, thread_id: UUID, actor: Actor) -> ReadOut:
        """Your side has read the thread up to now (the other side sees its messages as read)."""
        return msgspec.convert(await services.mark_read(actor, thread_id), ReadOut)

    @post("/threads/{thread_id:uuid}/close", operation_id="closeThread", status_code=200,
          raises=[NotFound, Forbidden, Conflict])
    async def close_thread(self, thread_id: UUID, actor: Actor, settings: Settings) -> ThreadOut:
        """The professional side closes the thread: it accepts no new message."""
        return _thread(await services.close_thread(settings, actor, thread_id))

    @get("/messaging/attachments/{attachment_id:uuid}", operation_id="messageAttachment", raises=[NotFound],
         media_type="application/octet-stream", opt={"content_types": attachments.ACCEPTED})
    async def attachment(self, attachment_id: UUID, actor: Actor, settings: Settings,
                         download: bool = False) -> Response[bytes]:
        """A file attached to a message (never stored by the browser: ``Cache-Control: no-store``)."""
        data, meta = await services.attachment_content(settings, actor, attachment_id)
        name = meta["filename"] or "piece-jointe"
        ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
        return Response(data, media_type=meta["media_type"], headers={
            "Content-Disposition": f"{'attachment' if download else 'inline'}; filename=\"{ascii_name}\"; "
                                   f"filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": ATTACHMENT_CSP.get(meta["media_type"], SANDBOX_CSP),
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        })

    @get("/messaging/unread", operation_id="messagingUnread", raises=[Unauthenticated])
    async def unread(self, actor: Actor) -> UnreadOut:
        """Unread messages for the badge (in total; per profile for a citizen)."""
        return msgspec.convert(await services.unread(actor), UnreadOut)

    @get("/messaging/events", operation_id="messagingEvents", media_type="text/event-stream",
         raises=[Unauthenticated],
         responses={200: ResponseSpec(data_container=StreamEventOut, media_type="text/event-stream",
                                      description="Server-Sent Events, one object per event",
                                      generate_examples=False)})
    async def events(self, request: Request, actor: Actor, settings: Settings) -> Stream:
        """Live updates of the inbox and open threads, as Server-Sent Events (ids and counts only).

        Events: ``ready`` (the unread total), ``message``, ``read``, ``thread`` (closed) and
        ``resync`` (reload); a comment line every 15 s. A client that does not ask for
        ``text/event-stream`` (``Accept``) receives the ``ready`` event alone, and the answer ends.
        """
        follow = "text/event-stream" in request.headers.get("accept", "")
        return Stream(events.stream(settings, actor, follow=follow), media_type="text/event-stream",
                      headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
