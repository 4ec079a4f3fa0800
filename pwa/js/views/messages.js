// #/messages: the secure messages of the profile shown (self, a child, a card entrusted
// with the messaging scope): its conversations, latest activity first, with what is
// unread, and "ma pharmacie".
// #/messages/new: a new conversation with a pharmacy (ma pharmacie first, or a search).
// #/messages/pharmacy: choose, change or forget "ma pharmacie".
// #/messages/<id>: one conversation, oldest message at the top, with the composer.
//
// Also the pieces the professional's inbox shares (inbox.js): the conversation screen,
// the composer's text area with its count, the inbox rows. Both follow the shell's
// live event stream: on an event about what is shown, it is fetched again. Nothing of
// a message is ever stored on the device.

import { api, live, upload } from "../api.js";
import {
  alertBox, badge, busy, clearErrors, confirmAction, errorSummary, facts, field, h, heading, icon, showError,
} from "../dom.js";
import { formatDate, formatDateTime, formatSize, getLang, t } from "../i18n.js";
import { newKey, profileName } from "./documents.js";

export const MAX_TEXT = 5000;
const PAGE = 30; // messages per page
const INBOX_PAGE = 50;
const MAX_INBOX = 100; // the most the API gives in one page
const MAX_DOCUMENTS = 5;
const DOCUMENTS_SHOWN = 20;
const FILE_TYPES = "image/*,application/pdf";

const enc = encodeURIComponent;

function formatCount(n) {
  return new Intl.NumberFormat(getLang() === "en" ? "en-GB" : "fr-FR").format(n);
}

/** "12, rue de la Gare, 75019 Paris". */
export function pharmacyAddress(p) {
  return [p.address, [p.postcode, p.commune].filter(Boolean).join(" ")].filter(Boolean).join(", ");
}

/** A polite live region (announced without moving the focus); say(text) fills it. */
export function liveStatus(id) {
  const box = h("p", { id, class: "sr-only", role: "status" });
  let timer = null;
  return {
    box,
    say(text) {
      clearTimeout(timer);
      box.textContent = "";
      // Emptied first, then filled: the same words twice are announced twice.
      timer = setTimeout(() => { box.textContent = text; }, 50);
    },
  };
}

// --- the text area and its count -------------------------------------------------------------

/**
 * A labelled text area of at most 5,000 characters with its count: shown as the text
 * changes, and said to screen readers once typing pauses.
 */
export function messageField({ id, label, hint, rows = 4 }) {
  const box = field({
    id, label, hint, multiline: true, required: true, attrs: { rows: String(rows), maxlength: String(MAX_TEXT) },
  });
  const control = box.querySelector("textarea");
  const count = h("p", { id: `${id}-count`, class: "field-hint char-count" });
  const spoken = h("p", { id: `${id}-count-live`, class: "sr-only", "aria-live": "polite" });
  control.setAttribute("aria-describedby", `${control.getAttribute("aria-describedby")} ${id}-count`.trim());
  box.append(count, spoken);
  let timer = null;
  const words = () => t("msg.count", { count: formatCount(control.value.length), max: formatCount(MAX_TEXT) });
  const update = () => {
    count.textContent = words();
    count.classList.toggle("char-count-near", control.value.length > MAX_TEXT - 250);
    clearTimeout(timer);
    timer = setTimeout(() => { spoken.textContent = words(); }, 1000);
  };
  control.addEventListener("input", update);
  count.textContent = words();
  return {
    box,
    control,
    value: () => control.value.trim(),
    set(text) {
      control.value = text;
      count.textContent = words();
    },
    refresh: () => { count.textContent = words(); },
  };
}

// --- attachments (citizen side) --------------------------------------------------------------

/**
 * What a citizen may join to a message: a new photo or PDF (the camera first on a
 * phone), or documents of the record (at most 5, each copied into the message). One
 * kind at a time: the API takes a file, or documents.
 */
function attachmentsPicker(prefix, profileId, { allowFile = true } = {}) {
  const chosenBox = h("div", { id: `${prefix}-chosen`, class: "attach-chosen", "aria-live": "polite" });
  let file = null;
  let docsLoaded = false;
  const photoInput = allowFile ? h("input", {
    type: "file", id: `${prefix}-photo`, name: "file", accept: FILE_TYPES, capture: "environment",
    hidden: true, tabindex: "-1", "aria-label": t("msg.attach.photo"),
  }) : null;
  const fileInput = allowFile ? h("input", {
    type: "file", id: `${prefix}-file`, name: "file", accept: FILE_TYPES, hidden: true, tabindex: "-1",
    "aria-label": t("msg.attach.file"),
  }) : null;
  const photoButton = allowFile ? h("button", { type: "button", id: `${prefix}-photo-button`, class: "btn btn-secondary" },
    icon("camera"), t("msg.attach.photo")) : null;
  const fileButton = allowFile ? h("button", { type: "button", id: `${prefix}-file-button`, class: "btn btn-secondary" },
    icon("upload"), t("msg.attach.file")) : null;
  const docsToggle = h("button", {
    type: "button", id: `${prefix}-docs-toggle`, class: "btn btn-secondary", "aria-expanded": "false",
    "aria-controls": `${prefix}-docs`,
  }, icon("doc"), t("msg.attach.docs"));
  const docsStatus = h("p", { id: `${prefix}-docs-status`, class: "muted", role: "status" });
  const docsList = h("ul", { class: "choice-list attach-docs-list" });
  const docsError = h("p", { id: `${prefix}-docs-error`, class: "field-error", hidden: true });
  const docsBox = h("fieldset", { class: "fieldset attach-docs", id: `${prefix}-docs`, hidden: true },
    h("legend", {}, t("msg.attach.docs.legend", { max: MAX_DOCUMENTS })), docsError, docsStatus, docsList);

  function checkedDocs() {
    return [...docsList.querySelectorAll("input:checked")];
  }

  function showChosen() {
    const items = [];
    if (file) {
      const remove = h("button", {
        type: "button", class: "btn btn-quiet", id: `${prefix}-remove-file`,
        "aria-label": t("msg.attach.remove.aria", { name: file.name }),
      }, t("msg.attach.remove"));
      remove.addEventListener("click", () => {
        file = null;
        if (photoInput) photoInput.value = "";
        if (fileInput) fileInput.value = "";
        showChosen();
        (photoButton || docsToggle).focus();
      });
      items.push(h("p", { class: "attach-file" }, icon("clip"),
        h("span", {}, t("msg.attach.chosen", { name: file.name, size: formatSize(file.size) })), remove));
    }
    const docs = checkedDocs();
    if (docs.length) {
      items.push(h("p", { class: "attach-file" }, icon("clip"),
        h("span", {}, t(docs.length === 1 ? "msg.attach.docs.one" : "msg.attach.docs.n", { count: docs.length }))));
    }
    chosenBox.replaceChildren(...items);
  }

  function takeFile(input) {
    const picked = input.files?.[0] || null;
    if (!picked) return;
    file = picked;
    for (const box of checkedDocs()) box.checked = false; // one kind at a time
    showChosen();
  }
  photoInput?.addEventListener("change", () => takeFile(photoInput));
  fileInput?.addEventListener("change", () => takeFile(fileInput));
  photoButton?.addEventListener("click", () => photoInput.click());
  fileButton?.addEventListener("click", () => fileInput.click());

  async function loadDocs() {
    docsStatus.textContent = t("shell.loading");
    try {
      const page = await api.get(`/api/profiles/${enc(profileId)}/documents?page_size=${DOCUMENTS_SHOWN}`);
      docsList.replaceChildren(...page.items.map((doc, i) => {
        const id = `${prefix}-doc-${i}`;
        return h("li", { class: "attach-doc" },
          h("div", { class: "checkbox" },
            h("input", { type: "checkbox", id, value: doc.id, "aria-describedby": `${id}-desc ${prefix}-docs-error` }),
            h("label", { for: id }, doc.title)),
          h("p", { id: `${id}-desc`, class: "muted pharmacy-desc" }, formatDate(doc.care_date)));
      }));
      docsStatus.textContent = page.items.length
        ? (page.total > page.items.length ? t("msg.attach.docs.latest", { count: page.items.length }) : "")
        : t("msg.attach.docs.none");
      docsLoaded = true;
    } catch (err) {
      docsStatus.textContent = err.detail || t("error.generic", { status: err.status });
    }
  }

  docsToggle.addEventListener("click", async () => {
    const open = docsBox.hidden;
    docsBox.hidden = !open;
    docsToggle.setAttribute("aria-expanded", String(open));
    if (open && !docsLoaded) await loadDocs();
  });
  docsList.addEventListener("change", (event) => {
    if (!event.target.checked) {
      showChosen();
      return;
    }
    if (checkedDocs().length > MAX_DOCUMENTS) {
      event.target.checked = false;
      docsError.textContent = t("msg.attach.docs.too_many", { max: MAX_DOCUMENTS });
      docsError.hidden = false;
      return;
    }
    docsError.hidden = true;
    if (file) {
      file = null; // one kind at a time
      if (photoInput) photoInput.value = "";
      if (fileInput) fileInput.value = "";
    }
    showChosen();
  });

  const box = h("div", { class: "attach" },
    h("p", { class: "field-label" }, t("msg.attach.title"), h("span", { class: "field-optional" }, ` (${t("common.optional")})`)),
    h("p", { class: "field-hint", id: `${prefix}-attach-hint` }, t(allowFile ? "msg.attach.hint" : "msg.attach.hint.docs")),
    photoInput, fileInput,
    h("div", { class: "actions" }, photoButton, fileButton, docsToggle),
    chosenBox, docsBox);
  return {
    box,
    file: () => file,
    documentIds: () => checkedDocs().map((c) => c.value),
    clear() {
      file = null;
      if (photoInput) photoInput.value = "";
      if (fileInput) fileInput.value = "";
      for (const c of checkedDocs()) c.checked = false;
      showChosen();
    },
  };
}

// --- one message -------------------------------------------------------------------------

function attachmentLinks(a) {
  const url = `/api/messaging/attachments/${enc(a.id)}`;
  const size = formatSize(a.size);
  return h("li", { class: "message-file" },
    icon("clip"),
    h("span", { class: "message-file-name" }, `${a.filename} (${size})`),
    h("span", { class: "message-file-links" },
      h("a", {
        href: url, target: "_blank", rel: "noopener", class: "btn btn-quiet",
        "aria-label": t("msg.file.open.aria", { name: a.filename }),
      }, t("doc.open")),
      h("a", {
        href: `${url}?download=true`, download: a.filename || true, class: "btn btn-quiet",
        "aria-label": t("msg.file.download.aria", { name: a.filename, size }),
      }, t("doc.download"))));
}

/** A prescription named in a message: for a pharmacist, the button that opens it at the counter. */
function referenceItem(ref, opts) {
  if (ref.kind !== "prescription") return h("li", { class: "message-ref" }, ref.title);
  const open = opts.pharmacist
    ? h("a", {
      href: `#/dispense?number=${enc(ref.ref)}&thread=${enc(opts.threadId)}`, class: "btn btn-secondary message-ref-open",
      "aria-label": t("msg.ref.open.aria", { title: ref.title }),
    }, icon("pill"), t("msg.ref.open"))
    : null;
  return h("li", { class: "message-ref" },
    h("span", { class: "message-ref-title" }, icon("pill"), h("span", {}, ref.title)), open);
}

function receiptText(message) {
  return message.read_by_recipient ? t("msg.read") : t("msg.sent");
}

function messageItem(message, opts) {
  const author = message.on_behalf_of
    ? t("msg.on_behalf", { author: message.author, name: message.on_behalf_of })
    : message.author;
  const receipt = message.mine
    ? h("p", { class: `message-receipt${message.read_by_recipient ? " is-read" : ""}` },
      message.read_by_recipient ? icon("check") : null, receiptText(message))
    : null;
  const li = h("li", {
    class: `message ${message.mine ? "message-mine" : "message-theirs"}`, "data-id": message.id,
    "data-seq": message.seq, tabindex: "-1",
  },
    h("p", { class: "message-meta" },
      h("span", { class: "message-author" }, author),
      h("span", { class: "message-time" },
        h("time", { datetime: message.sent_at }, formatDateTime(message.sent_at)))),
    h("p", { class: "message-text" }, message.text),
    message.references?.length
      ? h("ul", { class: "message-refs" }, ...message.references.map((r) => referenceItem(r, opts)))
      : null,
    message.attachments?.length
      ? h("ul", { class: "message-files", "aria-label": t("msg.files") }, ...message.attachments.map(attachmentLinks))
      : null,
    receipt);
  return { li, receipt, message };
}

// --- one conversation ----------------------------------------------------------------------

function closedNotice(thread) {
  const when = thread.closed_at ? formatDateTime(thread.closed_at) : "";
  return h("div", { class: "notice notice-info", id: "thread-closed" },
    h("p", {}, thread.closed_by
      ? t("msg.closed.by", { date: when, name: thread.closed_by })
      : t("msg.closed", { date: when })),
    thread.side === "citizen" ? h("p", {}, t("msg.closed.citizen")) : null,
    thread.side === "citizen"
      ? h("p", {}, h("a", { href: "#/messages/new", class: "link-arrow" }, t("msg.new_thread")))
      : null);
}

function notFound(backHref, backLabel) {
  return h("div", { class: "view" },
    h("p", {}, h("a", { href: backHref, class: "link-back" }, backLabel)),
    heading(t("msg.thread")),
    h("div", { class: "notice notice-error", id: "thread-not-found" }, h("p", {}, t("msg.not_found"))));
}

/** The conversation's title: its subject, or whom it is with. */
function threadTitle(thread) {
  if (thread.subject) return thread.subject;
  return t("msg.with", { name: thread.side === "pro" ? thread.person_name : thread.counterpart.name });
}

/**
 * The conversation screen of both sides. opts: backHref, backLabel, pharmacist (a
 * prescription reference opens the dispensing screen; the quick answer is offered),
 * selfId (the citizen's own profile: another one is named). A citizen joins documents
 * of the record of the conversation's profile.
 */
export async function threadScreen(ctx, threadId, opts) {
  let thread;
  try {
    thread = await api.get(`/api/threads/${enc(threadId)}?limit=${PAGE}`);
  } catch (err) {
    if ([400, 404, 422].includes(err.status)) return notFound(opts.backHref, opts.backLabel);
    throw err;
  }
  const citizen = thread.side === "citizen";
  const itemOpts = { pharmacist: Boolean(opts.pharmacist), threadId: thread.id };
  const known = new Map(); // message id -> {li, receipt, message}
  const list = h("ol", { class: "messages", id: "thread-messages" });
  const empty = h("p", { class: "muted", id: "thread-empty" }, t("msg.thread.empty"));
  const status = liveStatus("thread-live");
  const olderButton = h("button", { type: "button", class: "btn btn-secondary", id: "thread-older" },
    t("msg.older"));
  const closedBox = h("div", { id: "thread-closed-box" });
  let nextBefore = thread.next_before;
  let current = thread;
  let leaving = false;

  function place(messages, { older = false } = {}) {
    const fresh = messages.filter((m) => !known.has(m.id)).sort((a, b) => a.seq - b.seq);
    for (const m of messages) {
      const seen = known.get(m.id);
      if (seen && seen.message.read_by_recipient !== m.read_by_recipient && seen.receipt) {
        seen.receipt.replaceChildren(m.read_by_recipient ? icon("check") : "", receiptText(m));
        seen.receipt.classList.toggle("is-read", m.read_by_recipient);
        seen.message = m;
      }
    }
    const made = fresh.map((m) => messageItem(m, itemOpts));
    for (const item of made) known.set(item.message.id, item);
    if (older) list.prepend(...made.map((item) => item.li));
    else list.append(...made.map((item) => item.li));
    empty.hidden = known.size > 0;
    return made;
  }

  function newestSeq() {
    let seq = 0;
    for (const { message } of known.values()) seq = Math.max(seq, message.seq);
    return seq;
  }

  olderButton.hidden = !nextBefore;
  olderButton.addEventListener("click", () => busy(olderButton, async () => {
    try {
      const page = await api.get(`/api/threads/${enc(thread.id)}?limit=${PAGE}&before=${enc(nextBefore)}`);
      const made = place(page.messages, { older: true });
      nextBefore = page.next_before;
      olderButton.hidden = !nextBefore;
      status.say(t(made.length === 1 ? "msg.older.done.one" : "msg.older.done", { count: made.length }));
      if (!nextBefore) made.at(-1)?.li.focus();
    } catch (err) {
      status.say(err.detail || t("error.generic", { status: err.status }));
    }
  }));

  // Read when shown: at the opening, and when a message of the other side arrives while
  // the screen is shown (a hidden tab waits until it is seen again).
  let unreadSeen = thread.unread > 0;
  async function markRead() {
    if (!unreadSeen || leaving) return;
    if (document.visibilityState === "hidden") return;
    unreadSeen = false;
    try {
      await api.post(`/api/threads/${enc(thread.id)}/read`);
    } catch {
      unreadSeen = true; // tried again with the next event
    }
  }
  const onVisible = () => {
    if (document.visibilityState === "visible") markRead();
  };
  document.addEventListener("visibilitychange", onVisible);

  let composer = null;
  function applyThread(fresh) {
    const wasOpen = current.status === "open";
    current = fresh;
    if (wasOpen && fresh.status !== "open") {
      closedBox.replaceChildren(closedNotice(fresh));
      if (composer) composer.section.hidden = true;
      document.getElementById("thread-to-composer")?.remove();
      document.getElementById("thread-close-box")?.remove();
      status.say(t("msg.closed.now"));
    }
  }

  // One fetch at a time; an event during a fetch asks for one more afterwards.
  let fetching = null;
  let again = false;
  async function refresh() {
    if (fetching) {
      again = true;
      return fetching;
    }
    fetching = (async () => {
      do {
        again = false;
        let fresh;
        try {
          fresh = await api.get(`/api/threads/${enc(thread.id)}?limit=${PAGE}`);
        } catch {
          return; // the next event, or a reload, shows it
        }
        if (leaving) return;
        const top = newestSeq();
        if (fresh.next_before && fresh.messages.length && fresh.messages.at(-1).seq > top + 1 && top > 0) {
          // More new messages than one page: start again from the newest page.
          list.replaceChildren();
          known.clear();
          nextBefore = fresh.next_before;
          olderButton.hidden = false;
        }
        const made = place(fresh.messages);
        applyThread(fresh);
        const theirs = made.filter((item) => !item.message.mine);
        if (theirs.length) {
          const last = theirs.at(-1).message;
          status.say(theirs.length === 1
            ? t("msg.new.one", { name: last.author, text: last.text.slice(0, 200) })
            : t("msg.new", { count: theirs.length, name: last.author }));
        }
        if (fresh.unread > 0) {
          unreadSeen = true;
          await markRead();
        }
      } while (again && !leaving);
    })();
    try {
      await fetching;
    } finally {
      fetching = null;
    }
    return undefined;
  }

  const off = live.subscribe((kind, data) => {
    if (kind === "resync") {
      refresh();
      return;
    }
    if (data.thread_id !== thread.id) return;
    if (kind === "message" && known.has(data.message_id)) return; // our own, already shown
    if (kind === "read" && data.side === thread.side) return; // our side read: nothing changes here
    if (["message", "read", "thread"].includes(kind)) refresh();
  });
  ctx.onLeave(() => {
    leaving = true;
    off();
    document.removeEventListener("visibilitychange", onVisible);
  });

  place(thread.messages);
  if (thread.status !== "open") closedBox.replaceChildren(closedNotice(thread));
  composer = thread.status === "open" ? composerSection(ctx, thread, opts, {
    onSent(message) {
      place([message]);
      status.say(t("msg.sent.done"));
    },
    onClosed: refresh,
  }) : null;
  markRead();

  const title = threadTitle(thread);
  const counterpart = thread.counterpart.kind === "structure" && !citizen
    ? t("msg.shared_inbox", { name: thread.counterpart.name })
    : thread.counterpart.name;
  const closeBox = !citizen && thread.status === "open"
    ? h("div", { id: "thread-close-box" }, confirmAction({
      id: "thread-close",
      label: t("msg.close"),
      question: t("msg.close.question", { name: thread.person_name }),
      confirmText: t("msg.close.confirm"),
      cancelText: t("msg.close.keep"),
      action: async () => {
        const closed = await api.post(`/api/threads/${enc(thread.id)}/close`);
        applyThread(closed);
        document.getElementById("thread-closed")?.setAttribute("tabindex", "-1");
        document.getElementById("thread-closed")?.focus();
      },
    }))
    : null;

  return h("div", { class: "view" },
    h("p", {}, h("a", { href: opts.backHref, class: "link-back", id: "thread-back" }, opts.backLabel)),
    heading(title),
    facts(citizen
      ? [
        [t("msg.fact.with"), counterpart],
        [t("msg.fact.for"), thread.person_id !== opts.selfId ? thread.person_name : null],
      ]
      : [
        [t("msg.fact.patient"), thread.person_name],
        [t("msg.fact.inbox"), counterpart],
      ]),
    closedBox,
    composer ? h("p", {}, h("a", {
      href: "#thread-composer-title", class: "link-arrow", id: "thread-to-composer",
      onclick: (event) => {
        event.preventDefault(); // a bare "#id" would leave the hash route
        composer.text.control.focus();
      },
    }, t("msg.to_composer"))) : null,
    h("section", { class: "section panel thread", "aria-labelledby": "thread-messages-title" },
      h("h2", { id: "thread-messages-title" }, t("msg.messages")),
      status.box,
      olderButton,
      empty,
      list),
    composer?.section,
    closeBox);
}

/** The composer of a conversation: text (and for a citizen, a file or record documents). */
function composerSection(ctx, thread, opts, { onSent, onClosed }) {
  const citizen = thread.side === "citizen";
  const alert = alertBox("composer-alert");
  const text = messageField({ id: "composer-text", label: t("msg.text"), hint: t("msg.text.hint") });
  const attachments = citizen ? attachmentsPicker("composer", thread.person_id) : null;
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "composer-submit" },
    icon("send"), t("msg.send"));
  // The pharmacy's usual answer, one tap away (its words can be completed before sending).
  const quick = !opts.pharmacist ? null : h("div", { class: "quick-replies" },
    h("p", { class: "field-hint", id: "composer-quick-hint" }, t("msg.quick.hint")),
    h("div", { class: "actions" }, ...["msg.quick.ready"].map((key) => h("button", {
      type: "button", class: "btn btn-secondary", id: "composer-quick-ready", "aria-describedby": "composer-quick-hint",
      onclick: () => {
        text.set(t(key));
        text.control.focus();
      },
    }, t(key)))));
  const form = h("form", { id: "composer", class: "form", novalidate: true },
    alert, quick, text.box, attachments?.box, h("div", { class: "actions" }, submit));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const words = text.value();
    if (!words) {
      return errorSummary(alert, [{ control: text.control, message: t("msg.text.required") }]);
    }
    await busy(submit, async () => {
      try {
        const file = attachments?.file();
        let message;
        if (file) {
          const body = new FormData();
          body.append("text", words);
          body.append("file", file, file.name);
          message = await upload(`/api/threads/${enc(thread.id)}/messages/upload`, body, { idempotencyKey: newKey() });
        } else {
          const documentIds = attachments?.documentIds() || [];
          message = await api.post(`/api/threads/${enc(thread.id)}/messages`,
            { text: words, ...(documentIds.length ? { document_ids: documentIds } : {}) });
        }
        text.set("");
        attachments?.clear();
        onSent(message);
        text.control.focus();
      } catch (err) {
        if (err.status === 409) {
          await onClosed();
          showError(alert, err);
          return;
        }
        const first = showError(alert, err, form, { text: "composer-text" });
        (first || text.control).focus();
      }
    });
    return true;
  });

  const section = h("section", { class: "section panel composer", id: "thread-composer", "aria-labelledby": "thread-composer-title" },
    h("h2", { id: "thread-composer-title", tabindex: "-1" }, t("msg.reply")),
    form);
  return { section, text };
}

// --- inbox rows ------------------------------------------------------------------------------

/** One conversation in an inbox: whom with, subject, last activity, unread, closed. */
export function threadRow(thread, { href, name, detail = null }) {
  const unread = thread.unread > 0
    ? badge(t(thread.unread === 1 ? "msg.unread.one" : "msg.unread", { count: thread.unread }), "info")
    : null;
  const closed = thread.status === "closed" ? badge(t("msg.status.closed"), "neutral") : null;
  const key = `thread-${thread.id}`;
  return h("li", { class: `list-item thread-item${thread.unread ? " is-unread" : ""}`, "data-id": thread.id },
    h("span", { class: "doc-icon" }, icon("mail")),
    h("div", { class: "list-main" },
      h("p", { class: "list-title" }, h("a", {
        href, class: "thread-link", "data-id": thread.id,
        "aria-describedby": [`${key}-subject`, unread || closed ? `${key}-state` : null].filter(Boolean).join(" "),
      }, name)),
      h("p", { class: "thread-subject", id: `${key}-subject` }, thread.subject || t("msg.no_subject")),
      detail ? h("p", { class: "muted" }, detail) : null,
      h("p", { class: "muted" }, t("msg.last", { date: formatDateTime(thread.last_message_at) })),
      unread || closed
        ? h("p", { class: "doc-badges", id: `${key}-state` }, unread, unread && closed ? " " : null, closed)
        : null));
}

/**
 * An inbox list that follows the live stream: load(limit) returns the page to show;
 * on each event the list is fetched again, the focus kept on the same conversation,
 * and a new unread message said. Returns {box, count, more}.
 */
export function liveInbox(ctx, { load, row, countText, emptyText, nameOf }) {
  const listBox = h("div", { id: "inbox-list" });
  const count = h("p", { id: "inbox-count", class: "muted" });
  const status = liveStatus("inbox-live");
  const moreButton = h("button", { type: "button", class: "btn btn-secondary", id: "inbox-more" }, t("msg.inbox.more"));
  let items = [];
  let nextBefore = null;
  let leaving = false;

  function draw(page, { keepFocus = true } = {}) {
    const focused = keepFocus ? document.activeElement?.closest?.("[data-id]")?.dataset.id : null;
    items = page.items;
    nextBefore = page.next_before;
    count.textContent = countText(page);
    listBox.replaceChildren(items.length
      ? h("ul", { class: "list threads" }, ...items.map(row))
      : h("p", { class: "muted", id: "inbox-empty" }, emptyText));
    moreButton.hidden = !nextBefore;
    if (focused) listBox.querySelector(`a[data-id="${CSS.escape(focused)}"]`)?.focus();
  }

  moreButton.addEventListener("click", () => busy(moreButton, async () => {
    try {
      const page = await load({ before: nextBefore });
      const first = page.items[0];
      draw({ ...page, items: [...items, ...page.items] }, { keepFocus: false });
      if (first) listBox.querySelector(`a[data-id="${CSS.escape(first.id)}"]`)?.focus();
    } catch (err) {
      status.say(err.detail || t("error.generic", { status: err.status }));
    }
  }));

  let fetching = false;
  let again = false;
  async function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    try {
      do {
        again = false;
        const before = new Map(items.map((i) => [i.id, i.unread]));
        let page;
        try {
          page = await load({ limit: Math.min(MAX_INBOX, Math.max(INBOX_PAGE, items.length)) });
        } catch {
          return;
        }
        if (leaving) return;
        draw(page);
        const grown = page.items.find((i) => i.unread > (before.get(i.id) ?? 0));
        if (grown) status.say(t("msg.inbox.new", { name: nameOf(grown) }));
      } while (again && !leaving);
    } finally {
      fetching = false;
    }
  }
  const off = live.subscribe((kind) => {
    if (["message", "read", "thread", "resync"].includes(kind)) refresh();
  });
  ctx.onLeave(() => {
    leaving = true;
    off();
  });

  return {
    box: h("div", {}, count, status.box, listBox, h("div", { class: "actions inbox-more" }, moreButton)),
    draw,
  };
}

// --- choosing a pharmacy ---------------------------------------------------------------------

function pharmacyOption(p, prefix, index, mine) {
  const id = `${prefix}-pharmacy-${index}`;
  const hours = p.opening_hours ? h("span", { class: "pharmacy-hours" }, ` — ${p.opening_hours}`) : null;
  return h("li", { class: "pharmacy-option" },
    h("div", { class: "checkbox" },
      h("input", {
        type: "radio", id, name: `${prefix}-pharmacy`, value: p.id, "data-name": p.name,
        "data-mine": mine ? "true" : null, "aria-describedby": `${id}-desc ${prefix}-pharmacy-error`,
      }),
      h("label", { for: id }, p.name, mine ? h("span", { class: "badge badge-info pharmacy-mine" }, t("msg.pharmacy.mine")) : null)),
    h("p", { id: `${id}-desc`, class: "muted pharmacy-desc" }, pharmacyAddress(p), hours));
}

/**
 * A pharmacy chooser: ma pharmacie offered first, others found by a search. Returns
 * {searchForm, group, found, picked(), groupError, firstControl()}.
 */
function pharmacyChooser(prefix, mine, alert) {
  const qField = field({
    id: `${prefix}-q`, label: t("rx.send.search"), hint: t("rx.send.search.hint"), type: "search",
    autocomplete: "off", attrs: { maxlength: "100", enterkeyhint: "search" },
  });
  const q = qField.querySelector("input");
  const searchButton = h("button", { type: "submit", class: "btn btn-secondary", id: `${prefix}-search` },
    t("rx.send.search.submit"));
  const searchForm = h("form", { id: `${prefix}-search-form`, class: "form", role: "search", novalidate: true },
    qField, h("div", { class: "actions" }, searchButton));
  const found = h("p", { id: `${prefix}-found`, class: "muted", role: "status" });
  const choices = h("ul", { class: "choice-list pharmacies", id: `${prefix}-pharmacy-list` });
  const groupError = h("p", { id: `${prefix}-pharmacy-error`, class: "field-error", hidden: true });
  const legend = h("legend", {}, t("msg.pharmacy.choose"));
  const group = h("fieldset", { class: "fieldset", id: `${prefix}-pharmacy-group`, hidden: true },
    legend, groupError, choices);

  function show(list) {
    const shown = mine ? [mine, ...list.filter((p) => p.id !== mine.id)] : list;
    choices.replaceChildren(...shown.map((p, i) => pharmacyOption(p, prefix, i, mine && p.id === mine.id)));
    group.hidden = !shown.length;
    if (shown.length === 1 || (mine && !list.length)) choices.querySelector("input").checked = true;
    choices.dispatchEvent(new Event("change", { bubbles: true }));
  }
  show([]);

  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(searchForm);
    const words = q.value.trim();
    if (words.length < 2) {
      errorSummary(alert, [{ control: q, message: t("rx.send.search.short") }]);
      return;
    }
    await busy(searchButton, async () => {
      try {
        const out = await api.get(`/api/pharmacies?q=${enc(words)}`);
        show(out.items);
        found.textContent = out.items.length
          ? t(out.items.length === 1 ? "rx.send.found.one" : "rx.send.found", { count: out.items.length })
          : t("rx.send.none");
        alert.replaceChildren();
      } catch (err) {
        showError(alert, err, searchForm, { q: q.id });
      }
    });
  });

  return {
    searchForm, group, found, choices, groupError,
    picked: () => choices.querySelector("input:checked"),
    firstControl: () => choices.querySelector("input") || q,
  };
}

async function myPharmacy(profileId) {
  try {
    return (await api.get(`/api/profiles/${enc(profileId)}/my-pharmacy`))?.pharmacy || null;
  } catch {
    return null;
  }
}

// --- the citizen's screens -------------------------------------------------------------------

function noAccess(title, profile) {
  return h("div", { class: "view" },
    heading(title),
    h("div", { class: "notice notice-warning", id: "msg-no-access" },
      h("p", {}, t("msg.no_access", { name: profileName(profile) }))),
    h("p", {}, h("a", { href: "#/home", class: "link-arrow" }, t("notfound.home"))));
}

function titleFor(profile, self, other) {
  return profile.relation === "self" ? t(self) : t(other, { name: profileName(profile) });
}

function pharmacySection(mine) {
  return h("section", { class: "section panel", id: "msg-pharmacy", "aria-labelledby": "msg-pharmacy-title" },
    h("h2", { id: "msg-pharmacy-title" }, t("msg.pharmacy.title")),
    mine
      ? [h("p", { class: "list-title", id: "msg-pharmacy-name" }, mine.name),
        h("p", { class: "muted" }, pharmacyAddress(mine)),
        mine.opening_hours ? h("p", { class: "muted" }, mine.opening_hours) : null]
      : h("p", { class: "muted", id: "msg-pharmacy-none" }, t("msg.pharmacy.none")),
    h("p", {}, h("a", { href: "#/messages/pharmacy", class: "link-arrow", id: "msg-pharmacy-change" },
      t(mine ? "msg.pharmacy.change" : "msg.pharmacy.set"))));
}

/** Other profiles with unread messages: a line saying so (the profile switcher shows them). */
async function othersUnread(ctx, profile) {
  let counts;
  try {
    counts = await api.get("/api/messaging/unread");
  } catch {
    return null;
  }
  const others = (counts.profiles || []).filter((p) => p.person_id !== profile.id && p.unread > 0)
    .map((p) => ({ ...p, profile: ctx.state.me.profiles.find((x) => x.id === p.person_id) }))
    .filter((p) => p.profile);
  if (!others.length) return null;
  return h("div", { class: "notice notice-info", id: "msg-others" }, h("ul", { class: "status-list" },
    ...others.map((p) => h("li", {}, t(p.unread === 1 ? "msg.others.one" : "msg.others",
      { name: profileName(p.profile), count: p.unread })))));
}

async function renderInbox(ctx) {
  const profile = ctx.profile();
  if (!profile) return h("div", { class: "view" }, heading(t("msg.title")));
  const title = titleFor(profile, "msg.title", "msg.title.other");
  const load = ({ before = null, limit = INBOX_PAGE } = {}) => api.get(
    `/api/profiles/${enc(profile.id)}/threads?limit=${limit}${before ? `&before=${enc(before)}` : ""}`);
  let first;
  try {
    first = await load();
  } catch (err) {
    if (err.status === 404) return noAccess(title, profile);
    throw err;
  }
  const [mine, others] = await Promise.all([myPharmacy(profile.id), othersUnread(ctx, profile)]);
  const inbox = liveInbox(ctx, {
    load,
    row: (thread) => threadRow(thread, { href: `#/messages/${enc(thread.id)}`, name: thread.counterpart.name }),
    countText: (page) => (page.items.length
      ? [t(page.items.length === 1 ? "msg.inbox.count.one" : "msg.inbox.count", { count: page.items.length }),
        page.unread_total
          ? t(page.unread_total === 1 ? "msg.inbox.unread.one" : "msg.inbox.unread", { count: page.unread_total })
          : t("msg.inbox.unread.none")].join(" · ")
      : ""),
    emptyText: t("msg.inbox.empty"),
    nameOf: (thread) => thread.counterpart.name,
  });
  inbox.draw(first, { keepFocus: false });

  return h("div", { class: "view" },
    heading(title),
    h("p", { class: "lead" }, t("msg.intro")),
    others,
    h("p", {}, h("a", { href: "#/messages/new", class: "btn btn-primary", id: "msg-new" }, icon("mail"), t("msg.new_thread"))),
    h("section", { class: "section panel", "aria-labelledby": "inbox-title" },
      h("h2", { id: "inbox-title" }, t("msg.inbox")),
      inbox.box),
    pharmacySection(mine));
}

async function renderNew(ctx) {
  const profile = ctx.profile();
  const back = h("p", {}, h("a", { href: "#/messages", class: "link-back" }, t("msg.back")));
  if (!profile) return h("div", { class: "view" }, back, heading(t("msg.new_thread")));
  const title = titleFor(profile, "msg.new_thread", "msg.new_thread.other");
  try {
    await api.get(`/api/profiles/${enc(profile.id)}/threads?limit=1`);
  } catch (err) {
    if (err.status === 404) return noAccess(title, profile);
    throw err;
  }
  const mine = await myPharmacy(profile.id);
  const alert = alertBox("new-alert");
  const chooser = pharmacyChooser("new", mine, alert);
  const makeMine = h("input", { type: "checkbox", id: "new-make-mine", name: "make_mine" });
  const makeMineBox = h("div", { class: "checkbox", id: "new-make-mine-box", hidden: true },
    makeMine, h("label", { for: "new-make-mine" }, t("msg.pharmacy.make_mine")));
  chooser.choices.addEventListener("change", () => {
    const picked = chooser.picked();
    makeMineBox.hidden = !picked || picked.dataset.mine === "true";
  });
  const subjectField = field({
    id: "new-subject", label: t("msg.subject"), optional: true, autocomplete: "off", attrs: { maxlength: "200" },
  });
  const subject = subjectField.querySelector("input");
  const text = messageField({ id: "new-text", label: t("msg.text"), hint: t("msg.text.hint"), rows: 5 });
  const attachments = attachmentsPicker("new", profile.id, { allowFile: false });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "new-submit" }, icon("send"), t("msg.send"));
  const form = h("form", { id: "new-form", class: "form", novalidate: true },
    chooser.group, makeMineBox, subjectField, text.box, attachments.box, h("div", { class: "actions" }, submit));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const problems = [];
    const picked = chooser.picked();
    if (!picked) {
      problems.push({
        control: chooser.firstControl(), label: t("msg.pharmacy"),
        message: t(chooser.choices.children.length ? "rx.send.pick" : "rx.send.search_first"),
        errorEl: chooser.choices.children.length ? chooser.groupError : null,
      });
    }
    if (!text.value()) problems.push({ control: text.control, label: t("msg.text"), message: t("msg.text.required") });
    if (problems.length) return errorSummary(alert, problems);
    await busy(submit, async () => {
      try {
        const documentIds = attachments.documentIds();
        const words = subject.value.trim();
        const thread = await api.post(`/api/profiles/${enc(profile.id)}/threads`, {
          structure_id: picked.value, text: text.value(), ...(words ? { subject: words } : {}),
          ...(documentIds.length ? { document_ids: documentIds } : {}),
        });
        if (makeMine.checked && !makeMineBox.hidden) {
          await api.post(`/api/profiles/${enc(profile.id)}/my-pharmacy`, { structure_id: picked.value }).catch(() => null);
        }
        ctx.flash(t("msg.new.done", { name: picked.dataset.name }), { next: true });
        ctx.navigate(`messages/${enc(thread.id)}`);
      } catch (err) {
        const first = showError(alert, err, form, { text: "new-text", subject: "new-subject", structure_id: picked.id });
        (first || text.control).focus();
      }
    });
    return true;
  });

  return h("div", { class: "view" },
    back,
    heading(title),
    h("p", { class: "lead" }, t("msg.new.intro")),
    h("section", { class: "section panel", "aria-labelledby": "new-pharmacy-title" },
      h("h2", { id: "new-pharmacy-title" }, t("msg.pharmacy")),
      mine ? null : h("p", { class: "muted" }, t("msg.pharmacy.none.search")),
      alert,
      chooser.searchForm, chooser.found),
    h("section", { class: "section panel", "aria-labelledby": "new-message-title" },
      h("h2", { id: "new-message-title" }, t("msg.message")),
      form));
}

async function renderPharmacy(ctx) {
  const profile = ctx.profile();
  const back = h("p", {}, h("a", { href: "#/messages", class: "link-back" }, t("msg.back")));
  if (!profile) return h("div", { class: "view" }, back, heading(t("msg.pharmacy.title")));
  const title = titleFor(profile, "msg.pharmacy.title", "msg.pharmacy.title.other");
  let mine;
  try {
    mine = (await api.get(`/api/profiles/${enc(profile.id)}/my-pharmacy`))?.pharmacy || null;
  } catch (err) {
    if (err.status === 404) return noAccess(title, profile);
    throw err;
  }
  const alert = alertBox("pharmacy-alert");
  const chooser = pharmacyChooser("my", null, alert);
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "my-pharmacy-submit" }, t("msg.pharmacy.save"));
  const form = h("form", { id: "my-pharmacy-form", class: "form", novalidate: true },
    chooser.group, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const picked = chooser.picked();
    if (!picked) {
      return errorSummary(alert, [{
        control: chooser.firstControl(),
        message: t(chooser.choices.children.length ? "rx.send.pick" : "rx.send.search_first"),
        errorEl: chooser.choices.children.length ? chooser.groupError : null,
      }]);
    }
    await busy(submit, async () => {
      try {
        await api.post(`/api/profiles/${enc(profile.id)}/my-pharmacy`, { structure_id: picked.value });
        ctx.flash(t("msg.pharmacy.saved", { name: picked.dataset.name }), { next: true });
        ctx.navigate("messages");
      } catch (err) {
        showError(alert, err, form, { structure_id: picked.id });
        picked.focus();
      }
    });
    return true;
  });
  const forget = mine ? confirmAction({
    id: "my-pharmacy-forget",
    label: t("msg.pharmacy.forget"),
    question: t("msg.pharmacy.forget.question", { name: mine.name }),
    confirmText: t("msg.pharmacy.forget.confirm"),
    cancelText: t("msg.pharmacy.forget.keep"),
    action: async () => {
      await api.post(`/api/profiles/${enc(profile.id)}/my-pharmacy`, { structure_id: null });
      ctx.flash(t("msg.pharmacy.forgotten"), { next: true });
      ctx.navigate("messages");
    },
  }) : null;

  return h("div", { class: "view" },
    back,
    heading(title),
    h("section", { class: "section panel", "aria-labelledby": "my-pharmacy-now" },
      h("h2", { id: "my-pharmacy-now" }, t("msg.pharmacy.current")),
      mine
        ? [h("p", { class: "list-title" }, mine.name), h("p", { class: "muted" }, pharmacyAddress(mine))]
        : h("p", { class: "muted" }, t("msg.pharmacy.none")),
      forget),
    h("section", { class: "section panel", "aria-labelledby": "my-pharmacy-search-title" },
      h("h2", { id: "my-pharmacy-search-title" }, t(mine ? "msg.pharmacy.change" : "msg.pharmacy.set")),
      alert, chooser.searchForm, chooser.found, form));
}

export async function render(ctx) {
  const [param] = ctx.params;
  if (!param) return renderInbox(ctx);
  if (param === "new") return renderNew(ctx);
  if (param === "pharmacy") return renderPharmacy(ctx);
  return threadScreen(ctx, param, {
    backHref: "#/messages", backLabel: t("msg.back"), selfId: ctx.selfProfile()?.id,
  });
}
