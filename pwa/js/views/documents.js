// #/documents: the record of the profile shown (search, filters, pages) and
// adding a photo or a file with its upload progress.
// #/documents/<id>: one document (preview, open, download, hide from
// professionals, delete). Documents are never stored on the device.

import { api, upload } from "../api.js";
import {
  alertBox, badge, busy, clearErrors, confirmAction, facts, field, h, heading, icon, invalid, showError,
} from "../dom.js";
import { formatDate, formatDateTime, formatSize, t, tOr } from "../i18n.js";

const PAGE_SIZE = 20;
const SORTS = ["-care_date", "care_date", "title", "-created_at"];
const FILE_TYPES = "application/pdf,image/jpeg,image/png,text/plain";
const PREVIEWABLE = ["image/jpeg", "image/png"];

export function profileName(p) {
  return `${p.first_name} ${p.used_name || p.birth_name}`;
}

export function categoryLabel(code, fallback) {
  return tOr(`cat.${code}`, fallback || code);
}

export function typeLabel(code, fallback) {
  return tOr(`doctype.${code}`, fallback || code);
}

/** A random idempotency key (one per chosen file). */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The document's content URL, inline or as a download. */
export function contentUrl(doc, download = false) {
  return `/api/documents/${encodeURIComponent(doc.id)}/content${download ? "?download=true" : ""}`;
}

/** "Ouvrir" (new tab) and "Télécharger" links, named with the title for screen readers. */
export function openLinks(doc) {
  return h("div", { class: "actions doc-links" },
    h("a", {
      href: contentUrl(doc), target: "_blank", rel: "noopener", class: "btn btn-secondary",
      "aria-label": t("doc.open.aria", { title: doc.title }),
    }, t("doc.open")),
    h("a", {
      href: contentUrl(doc, true), download: doc.filename || true, class: "btn btn-quiet",
      "aria-label": t("doc.download.aria", { title: doc.title }),
    }, t("doc.download")));
}

/** Badges telling how a document is shared (forPro: worded for a professional). */
export function docBadges(doc, { forPro = false } = {}) {
  const out = [];
  if (doc.masked) out.push(badge(t("doc.masked"), "warning"));
  if (doc.hidden_from_guardians) out.push(badge(t("doc.hidden_from_guardians"), "info"));
  if (!doc.announced) out.push(badge(t("doc.not_announced"), "neutral"));
  if (doc.source === "citizen") out.push(badge(t(forPro ? "doc.source.patient" : "doc.source.citizen"), "neutral"));
  if (doc.version > 1) out.push(badge(t("doc.version", { n: doc.version }), "neutral"));
  if (!out.length) return null;
  const p = h("p", { class: "doc-badges" });
  out.forEach((b, i) => p.append(i ? " " : "", b));
  return p;
}

/** The short description lines of a document in a list. */
export function docMeta(doc) {
  return [
    h("p", { class: "muted" },
      typeLabel(doc.type_code, doc.type_label), " · ",
      h("time", { datetime: doc.care_date }, formatDate(doc.care_date))),
    h("p", { class: "muted" }, t("doc.by", { name: doc.author }), doc.structure ? ` — ${doc.structure}` : ""),
  ];
}

/** Previous / next page buttons; go(page) loads another page. */
export function pager(result, go, label) {
  const pages = Math.max(1, Math.ceil(result.total / result.page_size));
  if (pages <= 1) return null;
  const prev = h("button", { type: "button", class: "btn btn-secondary", disabled: result.page <= 1 },
    t("pager.prev"));
  const next = h("button", { type: "button", class: "btn btn-secondary", disabled: result.page >= pages },
    t("pager.next"));
  prev.addEventListener("click", () => busy(prev, () => go(result.page - 1)));
  next.addEventListener("click", () => busy(next, () => go(result.page + 1)));
  return h("nav", { class: "pager", "aria-label": label },
    prev, h("span", { class: "pager-state" }, t("pager.state", { page: result.page, pages })), next);
}

/** A <select> of the document types, grouped by category. */
export function typeSelect(id, catalogue, { emptyLabel, required = false } = {}) {
  const select = h("select", {
    id, name: id, required, "aria-required": required ? "true" : null, "aria-describedby": `${id}-error`,
  });
  select.append(h("option", { value: "" }, emptyLabel));
  for (const cat of catalogue) {
    const group = h("optgroup", { label: categoryLabel(cat.code, cat.label) });
    for (const [code, label] of Object.entries(cat.types)) {
      group.append(h("option", { value: code }, typeLabel(code, label)));
    }
    select.append(group);
  }
  return select;
}

export function selectField({ id, label, control, hint, optional = false }) {
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", `${hintId} ${id}-error`);
  return h("div", { class: "field" },
    h("label", { for: id, class: "field-label" }, label,
      optional ? h("span", { class: "field-optional" }, ` (${t("common.optional")})`) : null),
    hint ? h("p", { id: hintId, class: "field-hint" }, hint) : null,
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
    control);
}

/**
 * The upload progress: a labelled <progress> and a polite announcement
 * every quarter.
 */
export function progressBox(id) {
  const bar = h("progress", { id, max: "100", value: "0" });
  const live = h("p", { id: `${id}-live`, class: "sr-only", "aria-live": "polite" });
  const box = h("div", { class: "progress-box", hidden: true },
    h("label", { for: id, class: "field-label" }, t("upload.progress.label")), bar, live);
  let lastQuarter = -1;
  return {
    box,
    start() {
      bar.value = 0;
      lastQuarter = -1;
      live.textContent = t("upload.progress.start");
      box.hidden = false;
    },
    set(fraction) {
      const percent = Math.round(fraction * 100);
      bar.value = percent;
      bar.textContent = `${percent} %`;
      const quarter = Math.floor(percent / 25);
      if (quarter !== lastQuarter && percent > 0) {
        lastQuarter = quarter;
        live.textContent = t("upload.progress.value", { percent });
      }
    },
    stop() {
      box.hidden = true;
    },
  };
}

// --- the list ---------------------------------------------------------------

function docItem(doc) {
  return h("li", { class: "list-item document-item", "data-id": doc.id },
    h("span", { class: "doc-icon" }, icon("doc")),
    h("div", { class: "list-main" },
      h("p", { class: "list-title" }, h("a", { href: `#/documents/${doc.id}` }, doc.title)),
      docMeta(doc),
      docBadges(doc)));
}

function filtersForm(catalogue, onApply) {
  const q = field({
    id: "filter-q", label: t("doc.filter.q"), type: "search", autocomplete: "off",
    attrs: { maxlength: "100", enterkeyhint: "search" },
  });
  const category = h("select", { id: "filter-category", name: "category" },
    h("option", { value: "" }, t("doc.filter.category.all")),
    ...catalogue.map((c) => h("option", { value: c.code }, categoryLabel(c.code, c.label))));
  const sort = h("select", { id: "filter-sort", name: "sort" },
    ...SORTS.map((s) => h("option", { value: s }, t(`doc.sort.${s}`))));
  const author = field({ id: "filter-author", label: t("doc.filter.author"), autocomplete: "off",
    attrs: { maxlength: "100" } });
  const from = field({ id: "filter-from", label: t("doc.filter.from"), type: "date" });
  const to = field({ id: "filter-to", label: t("doc.filter.to"), type: "date" });
  const alert = alertBox("filters-alert");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("doc.filter.submit"));
  const reset = h("button", { type: "reset", class: "btn btn-quiet" }, t("doc.filter.reset"));
  const form = h("form", { id: "documents-filters", class: "form filters", role: "search", novalidate: true },
    alert,
    h("div", { class: "filters-row" },
      q,
      selectField({ id: "filter-category", label: t("doc.filter.category"), control: category })),
    h("details", { class: "more-filters" },
      h("summary", {}, t("doc.filter.more")),
      h("div", { class: "filters-row" },
        selectField({ id: "filter-sort", label: t("doc.filter.sort"), control: sort }), author, from, to)),
    h("div", { class: "actions" }, submit, reset));

  const values = () => ({
    q: q.querySelector("input").value.trim(),
    category: category.value,
    sort: sort.value,
    author: author.querySelector("input").value.trim(),
    date_from: from.querySelector("input").value,
    date_to: to.querySelector("input").value,
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const v = values();
    if (v.date_from && v.date_to && v.date_from > v.date_to) {
      invalid(alert, to.querySelector("input"), t("doc.filter.dates_error"));
      return;
    }
    busy(submit, () => onApply(v, alert));
  });
  form.addEventListener("reset", () => {
    clearErrors(form);
    setTimeout(() => busy(submit, () => onApply(values(), alert)), 0);
  });
  return form;
}

function uploadSection(ctx, profile, catalogue, onAdded) {
  const alert = alertBox("upload-alert");
  const photoInput = h("input", {
    type: "file", id: "upload-photo", name: "photo", accept: "image/*", capture: "environment",
    hidden: true, tabindex: "-1", "aria-label": t("upload.photo"),
  });
  const fileInput = h("input", {
    type: "file", id: "upload-file", name: "file", accept: FILE_TYPES, hidden: true, tabindex: "-1",
    "aria-label": t("upload.file"),
  });
  const photoButton = h("button", { type: "button", id: "upload-photo-button", class: "btn btn-secondary" },
    icon("camera"), t("upload.photo"));
  const fileButton = h("button", { type: "button", id: "upload-file-button", class: "btn btn-secondary" },
    icon("upload"), t("upload.file"));
  const chosen = h("p", { id: "upload-chosen", class: "upload-chosen", "aria-live": "polite" },
    t("upload.none"));
  const titleField = field({
    id: "upload-title", label: t("upload.title"), hint: t("upload.title.hint"), required: true,
    autocomplete: "off", attrs: { maxlength: "200" },
  });
  const title = titleField.querySelector("input");
  const type = typeSelect("upload-type", catalogue, { emptyLabel: t("upload.type.none") });
  const dateField = field({ id: "upload-date", label: t("upload.date"), type: "date", optional: true,
    attrs: { max: new Date().toISOString().slice(0, 10) } });
  const date = dateField.querySelector("input");
  const progress = progressBox("upload-progress");
  const submit = h("button", { type: "submit", id: "upload-submit", class: "btn btn-primary" },
    t("upload.submit"));
  const cancel = h("button", { type: "button", class: "btn btn-quiet" }, t("common.cancel"));
  // The details are asked once a file is chosen.
  const details = h("div", { id: "upload-details", class: "form", hidden: true },
    titleField,
    selectField({ id: "upload-type", label: t("upload.type"), control: type, hint: t("upload.type.hint"),
      optional: true }),
    dateField,
    progress.box,
    h("div", { class: "actions" }, submit, cancel));
  const form = h("form", { id: "upload-form", class: "form", novalidate: true },
    alert,
    h("fieldset", { class: "fieldset" },
      h("legend", {}, t("upload.choose")),
      h("div", { class: "actions" }, photoButton, fileButton),
      photoInput, fileInput, chosen),
    details);

  let file = null;
  let key = null;
  function clear() {
    form.reset();
    file = null;
    key = null;
    chosen.textContent = t("upload.none");
    details.hidden = true;
  }
  cancel.addEventListener("click", () => {
    clearErrors(form);
    clear();
    photoButton.focus();
  });
  photoButton.addEventListener("click", () => photoInput.click());
  fileButton.addEventListener("click", () => fileInput.click());
  for (const input of [photoInput, fileInput]) {
    input.addEventListener("change", () => {
      const picked = input.files?.[0];
      if (!picked) return;
      const other = input === photoInput ? fileInput : photoInput;
      other.value = "";
      file = picked;
      key = newKey(); // one idempotency key per chosen file: a retry cannot add it twice
      clearErrors(form);
      chosen.textContent = t("upload.chosen", { name: picked.name, size: formatSize(picked.size) });
      details.hidden = false;
      if (!title.value.trim()) title.value = picked.name.replace(/\.[^.]+$/, "").slice(0, 200);
      title.focus();
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!file) {
      showError(alert, { detail: t("upload.no_file") });
      photoButton.focus();
      return false;
    }
    if (!title.value.trim()) return invalid(alert, title, t("error.required"));
    const body = new FormData();
    body.append("file", file, file.name);
    body.append("title", title.value.trim());
    if (type.value) body.append("type_code", type.value);
    if (date.value) body.append("care_date", date.value);
    await busy(submit, async () => {
      progress.start();
      try {
        const doc = await upload(`/api/profiles/${profile.id}/documents`, body, {
          idempotencyKey: key, onProgress: (f) => progress.set(f),
        });
        clear();
        ctx.flash(t("upload.done", { title: doc.title }));
        await onAdded(doc);
      } catch (err) {
        if (err.status === 404) showError(alert, { detail: t("upload.not_allowed") });
        else {
          const first = showError(alert, err, form,
            { title: "upload-title", type_code: "upload-type", care_date: "upload-date" });
          (first || photoButton).focus();
        }
      } finally {
        progress.stop();
      }
    });
    return true;
  });

  return h("section", { class: "section panel", "aria-labelledby": "upload-title-heading" },
    h("h2", { id: "upload-title-heading" }, t("upload.heading")),
    h("p", { class: "muted" }, t("upload.intro")),
    form);
}

function noAccessView(title, profile) {
  return h("div", { class: "view" },
    heading(title),
    h("div", { class: "notice notice-warning" },
      h("p", {}, t("doc.no_access", { name: profileName(profile) }))),
    h("p", {}, h("a", { href: "#/home", class: "link-arrow" }, t("notfound.home"))));
}

async function renderList(ctx) {
  const profile = ctx.profile();
  if (!profile) return h("div", { class: "view" }, heading(t("doc.title.self")));
  const isSelf = profile.relation === "self";
  const title = isSelf ? t("doc.title.self") : t("doc.title.other", { name: profileName(profile) });

  let catalogue;
  let first;
  try {
    [catalogue, first] = await Promise.all([
      api.get("/api/document-types"),
      api.get(`/api/profiles/${profile.id}/documents?page_size=${PAGE_SIZE}`),
    ]);
  } catch (err) {
    if (err.status === 404) return noAccessView(title, profile);
    throw err;
  }

  const listTitle = h("h2", { id: "documents-title", tabindex: "-1" }, t("doc.list.title"));
  const count = h("p", { id: "documents-count", class: "muted", role: "status" });
  const listBox = h("div", { id: "documents-list" });
  let filters = { sort: "-care_date" };

  function fill(result) {
    count.textContent = result.total
      ? t(result.total === 1 ? "doc.count.one" : "doc.count", { count: result.total })
      : t("doc.count.none");
    listBox.replaceChildren(...[
      result.items.length
        ? h("ul", { class: "list documents" }, ...result.items.map(docItem))
        : h("p", { class: "muted" }, t("doc.list.empty")),
      pager(result, (page) => load(page, { focus: true }), t("pager.label.documents")),
    ].filter(Boolean));
  }

  async function load(page = 1, { focus = false } = {}) {
    // Filters go in the body: search words and authors must never appear in a URL.
    const body = { page, page_size: PAGE_SIZE };
    for (const [k, v] of Object.entries(filters)) if (v) body[k] = v;
    fill(await api.post(`/api/profiles/${profile.id}/documents/search`, body));
    if (focus) listTitle.focus();
  }

  fill(first);
  const filterForm = filtersForm(catalogue, async (values, alert) => {
    filters = values;
    try {
      await load(1);
    } catch (err) {
      showError(alert, err);
    }
  });

  return h("div", { class: "view" },
    heading(title),
    h("p", { class: "lead" }, t("doc.intro")),
    uploadSection(ctx, profile, catalogue, () => load(1, { focus: true })),
    h("section", { class: "section panel", "aria-labelledby": "documents-title" },
      listTitle,
      filterForm,
      count,
      listBox));
}

// --- one document ------------------------------------------------------------

function maskSection(ctx, doc, refresh) {
  const alert = alertBox("mask-alert");
  const state = h("p", { id: "mask-state", class: "list-title" },
    doc.masked ? t("doc.mask.state.on") : t("doc.mask.state.off"));
  const button = h("button", {
    type: "button", id: "mask-toggle", class: doc.masked ? "btn btn-secondary" : "btn btn-primary",
  }, icon("lock"), doc.masked ? t("doc.unmask") : t("doc.mask"));
  button.addEventListener("click", () => busy(button, async () => {
    alert.replaceChildren();
    try {
      const out = await api.post(`/api/documents/${doc.id}/mask`, { masked: !doc.masked });
      ctx.flash(out.masked ? t("doc.mask.done") : t("doc.unmask.done"));
      await refresh();
    } catch (err) {
      showError(alert, err);
    }
  }));
  return h("section", { class: "section panel", "aria-labelledby": "mask-title" },
    h("h2", { id: "mask-title" }, t("doc.mask.title")),
    state,
    h("p", { class: "muted" }, t("doc.mask.explain")),
    alert,
    button);
}

async function renderDocument(ctx, docId) {
  let doc;
  try {
    doc = await api.get(`/api/documents/${encodeURIComponent(docId)}`);
  } catch (err) {
    if (err.status !== 404 && err.status !== 400) throw err;
    return h("div", { class: "view" },
      heading(t("doc.title.one")),
      h("div", { class: "notice notice-error" }, h("p", {}, t("doc.not_found"))),
      h("p", {}, h("a", { href: "#/documents", class: "link-arrow" }, t("doc.back"))));
  }
  const profile = ctx.profile();
  const canManage = Boolean(profile && ["self", "parent"].includes(profile.relation));
  const isImage = PREVIEWABLE.includes(doc.media_type);

  const view = h("div", { class: "view" },
    h("p", {}, h("a", { href: "#/documents", class: "link-back" }, t("doc.back"))),
    heading(doc.title),
    docBadges(doc),
    h("section", { class: "section panel", "aria-labelledby": "doc-details-title" },
      h("h2", { id: "doc-details-title" }, t("doc.details")),
      facts([
        [t("doc.type"), typeLabel(doc.type_code, doc.type_label)],
        [t("doc.category"), categoryLabel(doc.category)],
        [t("doc.care_date"), formatDate(doc.care_date)],
        [t("doc.author"), doc.author],
        [t("doc.structure"), doc.structure],
        [t("doc.added_by"), doc.added_by],
        [t("doc.added_on"), formatDateTime(doc.created_at)],
        [t("doc.file"), `${doc.filename} (${formatSize(doc.size)})`],
      ]),
      isImage
        ? h("figure", { class: "doc-preview" },
          h("img", { src: contentUrl(doc), alt: t("doc.preview.alt", { title: doc.title }) }))
        : null,
      openLinks(doc),
      h("p", { class: "muted" }, t("doc.open.hint"))));

  if (canManage) {
    view.append(maskSection(ctx, doc, async () => {
      await ctx.rerender();
      document.getElementById("mask-toggle")?.focus();
    }));
    if (doc.source === "citizen") {
      view.append(h("section", { class: "section panel", "aria-labelledby": "delete-title" },
        h("h2", { id: "delete-title" }, t("doc.delete.title")),
        h("p", { class: "muted" }, t("doc.delete.explain")),
        confirmAction({
          id: "delete-document",
          label: t("doc.delete"),
          ariaLabel: t("doc.delete.aria", { title: doc.title }),
          question: t("doc.delete.question", { title: doc.title }),
          confirmText: t("doc.delete.confirm"),
          action: async () => {
            await api.del(`/api/documents/${doc.id}`);
            ctx.flash(t("doc.delete.done", { title: doc.title }), { next: true });
            ctx.navigate("documents");
          },
        })));
    }
  }
  return view;
}

export async function render(ctx) {
  if (ctx.params[0]) return renderDocument(ctx, ctx.params[0]);
  return renderList(ctx);
}
