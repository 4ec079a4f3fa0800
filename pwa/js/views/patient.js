// #/patient/<id>: a professional's view of one patient's record: the
// prescriptions a prescriber wrote (prescribe.js), writing to the patient in a
// secure message, the documents they may see (with open and download links),
// adding a document, and declaring an emergency (physicians).

import { api, upload } from "../api.js";
import {
  alertBox, busy, clearErrors, facts, field, h, heading, icon, invalid, showError,
} from "../dom.js";
import { formatDate, formatDateTime, formatSize, t } from "../i18n.js";
import * as patients from "../patients.js";
import {
  docBadges, docMeta, newKey, openLinks, pager, progressBox, selectField, typeSelect,
} from "./documents.js";
import { basisBadge, sexChoice } from "./pro.js";

const PAGE_SIZE = 20;
const FILE_TYPES = "application/pdf,image/jpeg,image/png,text/plain";

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

function docItem(doc) {
  return h("li", { class: "list-item document-item", "data-id": doc.id },
    h("span", { class: "doc-icon" }, icon("doc")),
    h("div", { class: "list-main" },
      h("p", { class: "list-title" }, doc.title),
      docMeta(doc),
      docBadges(doc, { forPro: true })),
    openLinks(doc));
}

function documentsSection(patientId, first) {
  const title = h("h2", { id: "patient-documents-title", tabindex: "-1" }, t("patient.documents"));
  const count = h("p", { id: "patient-documents-count", class: "muted", role: "status" });
  const listBox = h("div", { id: "patient-documents" });

  function fill(result) {
    count.textContent = result.total
      ? t(result.total === 1 ? "doc.count.one" : "doc.count", { count: result.total })
      : t("doc.count.none");
    listBox.replaceChildren(...[
      result.items.length ? h("ul", { class: "list documents" }, ...result.items.map(docItem)) : null,
      pager(result, (page) => load(page, true), t("pager.label.documents")),
    ].filter(Boolean));
  }

  async function load(page = 1, focus = false) {
    fill(await api.get(`/api/pro/patients/${patientId}/documents?page=${page}&page_size=${PAGE_SIZE}`));
    if (focus) title.focus();
  }

  if (first) fill(first);
  const box = first
    ? h("section", { class: "section panel", "aria-labelledby": "patient-documents-title" },
      title, h("p", { class: "muted" }, t("patient.documents.intro")), count, listBox)
    : h("section", { class: "section panel", "aria-labelledby": "patient-documents-title" },
      title,
      h("div", { class: "notice notice-warning", id: "patient-no-access" },
        h("p", {}, t("patient.no_access"))),
      h("p", {}, h("a", { href: "#/pro", class: "link-arrow" }, t("patient.no_access.code"))));
  return { box, reload: () => load(1, true) };
}

function addSection(ctx, patient, catalogue, onAdded) {
  const known = patient || {};
  const traits = known.traits || {};
  const alert = alertBox("feed-alert");
  const fileInput = h("input", {
    type: "file", id: "feed-file", name: "file", accept: FILE_TYPES, required: true,
    "aria-describedby": "feed-file-hint feed-file-error",
  });
  const fileField = h("div", { class: "field" },
    h("label", { for: "feed-file", class: "field-label" }, t("feed.file")),
    h("p", { id: "feed-file-hint", class: "field-hint" }, t("feed.file.hint")),
    h("p", { id: "feed-file-error", class: "field-error", hidden: true }),
    fileInput);
  const type = typeSelect("feed-type", catalogue, { emptyLabel: t("feed.type.choose"), required: true });
  const titleField = field({ id: "feed-title", label: t("upload.title"), required: true, autocomplete: "off",
    attrs: { maxlength: "200" } });
  const dateField = field({ id: "feed-date", label: t("upload.date"), type: "date", required: true,
    value: today() });
  const hidden = h("input", { type: "checkbox", id: "feed-hidden", name: "hidden_from_guardians",
    "aria-describedby": "feed-hidden-hint" });
  const later = h("input", { type: "checkbox", id: "feed-later", name: "announce_later",
    "aria-describedby": "feed-later-hint" });

  const insField = field({ id: "feed-ins", label: t("patient.ins"), hint: t("patient.ins.hint"), required: true,
    value: traits.ins, autocomplete: "off", attrs: { maxlength: "25", spellcheck: "false" } });
  const birthNameField = field({ id: "feed-birth-name", label: t("card.birth_name"), required: true,
    value: traits.birth_name || known.birth_name, autocomplete: "off", attrs: { maxlength: "100" } });
  const firstNameField = field({ id: "feed-first-name", label: t("patient.first_name"), required: true,
    value: traits.first_name || known.first_name, autocomplete: "off", attrs: { maxlength: "100" } });
  const birthDateField = field({ id: "feed-birth-date", label: t("card.birth_date"), type: "date", required: true,
    value: traits.birth_date || known.birth_date });
  const sex = sexChoice("feed-sex", traits.sex);
  const progress = progressBox("feed-progress");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("feed.submit"));
  const form = h("form", { id: "feed-form", class: "form", novalidate: true },
    alert,
    h("fieldset", { class: "fieldset" },
      h("legend", {}, t("feed.identity")),
      h("p", { class: "field-hint" }, t("feed.identity.hint")),
      h("div", { class: "form" }, insField, birthNameField, firstNameField, birthDateField, sex.fieldset)),
    fileField,
    selectField({ id: "feed-type", label: t("feed.type"), control: type }),
    titleField, dateField,
    h("div", { class: "checkbox" }, hidden, h("label", { for: "feed-hidden" }, t("feed.hidden"))),
    h("p", { id: "feed-hidden-hint", class: "field-hint" }, t("feed.hidden.hint")),
    h("div", { class: "checkbox" }, later, h("label", { for: "feed-later" }, t("feed.later"))),
    h("p", { id: "feed-later-hint", class: "field-hint" }, t("feed.later.hint")),
    progress.box,
    submit);

  let key = null;
  fileInput.addEventListener("change", () => {
    key = fileInput.files?.[0] ? newKey() : null;
  });
  const value = (f) => f.querySelector("input").value.trim();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const file = fileInput.files?.[0];
    const required = [[insField], [birthNameField], [firstNameField], [birthDateField]];
    for (const [f] of required) {
      if (!value(f)) return invalid(alert, f.querySelector("input"), t("error.required"));
    }
    if (!sex.value()) return sex.invalid(alert, t("patient.sex.required"));
    if (!file) return invalid(alert, fileInput, t("upload.no_file"));
    if (!type.value) return invalid(alert, type, t("feed.type.required"));
    if (!value(titleField)) return invalid(alert, titleField.querySelector("input"), t("error.required"));
    if (!value(dateField)) return invalid(alert, dateField.querySelector("input"), t("error.date"));
    const body = new FormData();
    body.append("file", file, file.name);
    body.append("ins", value(insField).replace(/\s/g, ""));
    body.append("birth_name", value(birthNameField));
    body.append("first_name", value(firstNameField));
    body.append("birth_date", value(birthDateField));
    body.append("sex", sex.value());
    body.append("type_code", type.value);
    body.append("title", value(titleField));
    body.append("care_date", value(dateField));
    body.append("hidden_from_guardians", hidden.checked ? "true" : "false");
    body.append("announce_later", later.checked ? "true" : "false");
    await busy(submit, async () => {
      progress.start();
      try {
        const doc = await upload("/api/pro/documents", body, {
          idempotencyKey: key || newKey(), onProgress: (f) => progress.set(f),
        });
        fileInput.value = "";
        key = null;
        titleField.querySelector("input").value = "";
        type.value = "";
        hidden.checked = false;
        later.checked = false;
        ctx.flash(t("feed.done", { title: doc.title, size: formatSize(doc.size) }));
        await onAdded(doc);
      } catch (err) {
        const first = showError(alert, err, form, {
          ins: "feed-ins", birth_name: "feed-birth-name", first_name: "feed-first-name",
          birth_date: "feed-birth-date", file: "feed-file", type_code: "feed-type", title: "feed-title",
          care_date: "feed-date",
        });
        (first || fileInput).focus();
      } finally {
        progress.stop();
      }
    });
    return true;
  });

  return h("section", { class: "section panel", "aria-labelledby": "feed-title-heading" },
    h("h2", { id: "feed-title-heading" }, t("feed.title")),
    h("p", { class: "muted" }, t("feed.intro")),
    form);
}

/**
 * "Écrire au patient": a first message in a new conversation (the professional's
 * basis of access to the record is what allows it); the conversation is then shown.
 */
function writeSection(ctx, patientId, name, messages) {
  const alert = alertBox("write-alert");
  const subjectField = field({
    id: "write-subject", label: t("write.subject"), optional: true, autocomplete: "off", attrs: { maxlength: "200" },
  });
  const subject = subjectField.querySelector("input");
  const text = messages.messageField({ id: "write-text", label: t("write.text"), hint: t("write.text.hint") });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "write-submit" }, icon("send"), t("write.submit"));
  const form = h("form", { id: "write-form", class: "form", novalidate: true },
    alert, subjectField, text.box, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!text.value()) return invalid(alert, text.control, t("msg.text.required"));
    await busy(submit, async () => {
      try {
        const words = subject.value.trim();
        const thread = await api.post("/api/pro/threads",
          { person_id: patientId, text: text.value(), ...(words ? { subject: words } : {}) });
        ctx.flash(t("write.done", { name: name || thread.person_name }), { next: true });
        ctx.navigate(`inbox/${encodeURIComponent(thread.id)}`);
      } catch (err) {
        const first = showError(alert, err, form, { text: "write-text", subject: "write-subject" });
        (first || text.control).focus();
      }
    });
    return true;
  });
  return h("section", { class: "section panel", id: "write-section", "aria-labelledby": "write-title" },
    h("h2", { id: "write-title" }, t("write.title")),
    h("p", { class: "muted" }, t("write.intro")),
    form);
}

const EMERGENCY_CONTEXTS = ["vital_emergency", "unconscious_patient", "samu_regulation"];

function emergencySection(ctx, patientId) {
  const alert = alertBox("emergency-alert");
  const reasonField = field({
    id: "emergency-reason", label: t("emergency.reason"), hint: t("emergency.reason.hint"), required: true,
    multiline: true, attrs: { rows: "3", maxlength: "1000" },
  });
  const reason = reasonField.querySelector("textarea");
  const context = h("select", { id: "emergency-context", name: "context", required: true },
    ...EMERGENCY_CONTEXTS.map((c) => h("option", { value: c }, t(`emergency.context.${c}`))));
  const submit = h("button", { type: "submit", class: "btn btn-danger" }, t("emergency.submit"));
  const form = h("form", { id: "emergency-form", class: "form", novalidate: true }, alert,
    selectField({ id: "emergency-context", label: t("emergency.context"), control: context }), reasonField, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const text = reason.value.trim();
    const words = new Set((text.toLowerCase().match(/[\p{L}\p{N}_]{2,}/gu) || []));
    if (text.length < 20 || words.size < 3) return invalid(alert, reason, t("emergency.reason.short"));
    await busy(submit, async () => {
      try {
        const out = await api.post(`/api/pro/patients/${patientId}/emergency`,
          { context: context.value, reason: text });
        const known = patients.recall(patientId);
        if (known) patients.remember({ ...known, basis: "emergency", until: out.until });
        ctx.flash(t("emergency.done", { date: formatDateTime(out.until) }), { next: true });
        await ctx.rerender();
        document.getElementById("patient-documents-title")?.focus();
      } catch (err) {
        showError(alert, err, form, { reason: "emergency-reason" });
        reason.focus();
      }
    });
    return true;
  });
  return h("section", { class: "section panel", "aria-labelledby": "emergency-title" },
    h("h2", { id: "emergency-title" }, t("emergency.title")),
    h("p", { class: "muted" }, t("emergency.intro")),
    form);
}

export async function render(ctx) {
  const patientId = ctx.params[0];
  if (!patientId) {
    ctx.navigate("pro", { replace: true });
    return h("div", { class: "view" });
  }
  const [me, catalogue, first] = await Promise.all([
    api.get("/api/pro/me"),
    api.get("/api/document-types"),
    api.get(`/api/pro/patients/${encodeURIComponent(patientId)}/documents?page_size=${PAGE_SIZE}`)
      .catch((err) => {
        if (err.status === 404 || err.status === 400) return null;
        throw err;
      }),
  ]);
  if (!patients.recall(patientId) && first) {
    // After a reload the tab forgot the patient: ask the server (access already checked above).
    const summary = await api.get(`/api/pro/patients/${encodeURIComponent(patientId)}`).catch(() => null);
    if (summary) patients.remember(summary);
  }
  const patient = patients.recall(patientId);
  const name = patient ? `${patient.first_name} ${patient.birth_name}` : null;
  const docs = documentsSection(patientId, first);
  // Prescribers with access to the record write prescriptions here. Loaded on first use, at
  // the versioned address of this module (a literal import("...") would be preloaded by all).
  const prescriptions = first
    ? await import(`./prescribe.js${new URL(import.meta.url).search}`)
      .then((m) => m.prescriberSection(ctx, patientId, me))
    : null;
  // Writing to the patient, with the messaging's text area (loaded the same way).
  const messages = first ? await import(`./messages.js${new URL(import.meta.url).search}`) : null;

  return h("div", { class: "view" },
    h("p", {}, h("a", { href: "#/pro", class: "link-back" }, t("patient.back"))),
    heading(name ? t("patient.title", { name }) : t("patient.title.unknown")),
    patient
      ? facts([
        [t("card.birth_date"), formatDate(patient.birth_date)],
        [t("patient.access"), first ? basisBadge(patient) : basisBadge(null)],
      ])
      : null,
    prescriptions,
    messages ? writeSection(ctx, patientId, name, messages) : null,
    docs.box,
    addSection(ctx, patient, catalogue, () => (first ? docs.reload() : ctx.rerender())),
    // Break-glass access is for physicians without another access to the record.
    me.profession_code === "10" && (!first || patient?.basis === "author") ? emergencySection(ctx, patientId) : null);
}
