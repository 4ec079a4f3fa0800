// #/prescribe/<patient id>: a prescriber writes an e-prescription: medications
// found by search (or an international name typed in full), a structured
// dosage, quantity, renewals, non-substitution with its reason, and the
// patient's yes or no to the prescriber seeing what is dispensed.
// #/prescribe/<patient id>/<prescription id>: one prescription as its
// prescriber sees it (number, PDF, dispensing if the patient agreed, cancel).
// prescriberSection(): the "Ordonnances" part of the patient page.

import { api } from "../api.js";
import {
  alertBox, busy, clearErrors, confirmAction, errorSummary, facts, field, h, heading, icon, showError,
} from "../dom.js";
import { formatDate, formatDateTime, t } from "../i18n.js";
import * as patients from "../patients.js";
import { selectField } from "./documents.js";
import {
  codeLabel, codeOptions, groupNumber, lineDetails, loadCodes, medicationPicker, quantityText, statusBadge,
} from "./prescriptions.js";

const MAX_LINES = 20;

function pdfLink(rx) {
  if (!rx.document_id) return null;
  return h("a", {
    href: `/api/documents/${encodeURIComponent(rx.document_id)}/content`, target: "_blank", rel: "noopener",
    class: "btn btn-secondary", id: `rx-pdf-${rx.id}`,
    "aria-label": t("prescribe.pdf.aria", { date: formatDate(rx.authored_on) }),
  }, icon("doc"), t("rx.pdf"));
}

/** Whether the prescriber may still cancel it (as far as they can see: nothing dispensed). */
function cancellable(rx) {
  return rx.status === "active" && rx.lines.every((l) => !l.dispensed);
}

/** "Annuler l'ordonnance" with its confirmation; after(message) shows the result. */
function cancelButton(rx, after) {
  const date = formatDate(rx.authored_on);
  return confirmAction({
    id: `rx-cancel-${rx.id}`,
    label: t("prescribe.cancel"),
    ariaLabel: t("prescribe.cancel.aria", { date }),
    question: t("prescribe.cancel.question", { date }),
    confirmText: t("prescribe.cancel.confirm"),
    cancelText: t("prescribe.cancel.keep"),
    action: async () => {
      await api.post(`/api/pro/prescriptions/${encodeURIComponent(rx.id)}/cancel`);
      await after(t("prescribe.cancel.done", { date }));
    },
  });
}

/** What the prescriber may know of the dispensing: per line, or the sentence saying the patient said no. */
function dispensingSummary(rx, codes) {
  if (rx.status === "cancelled") return h("p", {}, statusBadge("cancelled"));
  if (!rx.dispensing_visible) {
    return h("p", { class: "muted rx-not-allowed" }, t("prescribe.dispensing.hidden"));
  }
  return [
    h("p", {}, statusBadge(rx.summary)),
    h("ul", { class: "rx-dispenses" }, ...rx.lines.map((line) => h("li", {},
      t("prescribe.dispensing.line", {
        label: line.label, dispensed: line.dispensed ?? 0, limit: line.limit,
      }),
      ...line.dispenses.map((d) => h("span", { class: "muted rx-dispense-where" }, " — ",
        t("rx.dispense.where", {
          quantity: quantityText(d.quantity, line.quantity_unit), pharmacy: d.pharmacy,
          date: formatDateTime(d.handed_over_at),
        }),
        d.substitution_type
          ? ` (${codeLabel(codes?.substitution_types, d.substitution_type)}${d.label !== line.label ? ` : ${d.label}` : ""})`
          : ""))))),
  ];
}

function writtenItem(patientId, rx, codes, reload) {
  const others = rx.lines.length - 1;
  return h("li", { class: "list-item rx-item", "data-id": rx.id },
    h("div", { class: "list-main" },
      h("p", { class: "list-title" },
        h("a", { href: `#/prescribe/${encodeURIComponent(patientId)}/${encodeURIComponent(rx.id)}`, class: "rx-link" },
          t("rx.title", { date: formatDate(rx.authored_on) }))),
      h("p", { class: "muted" }, t("prescribe.item.number", { number: groupNumber(rx.number) }), " · ",
        others > 0
          ? t(others === 1 ? "rx.meds.more.one" : "rx.meds.more", { label: rx.lines[0].label, count: others })
          : rx.lines[0]?.label),
      dispensingSummary(rx, codes)),
    cancellable(rx) ? cancelButton(rx, reload) : null);
}

/**
 * The patient page's "Ordonnances" section for a professional who may
 * prescribe (null for the others): write one, and those already written.
 */
export async function prescriberSection(ctx, patientId, me) {
  const codes = await loadCodes().catch(() => null);
  if (!codes?.prescriber_professions?.includes(me.profession_code)) return null;
  const title = h("h2", { id: "rx-written-title", tabindex: "-1" }, t("prescribe.section"));
  const listBox = h("div", { id: "rx-written" });

  async function load() {
    let written;
    try {
      written = await api.get(`/api/pro/patients/${encodeURIComponent(patientId)}/prescriptions`);
    } catch (err) {
      listBox.replaceChildren(h("div", { class: "notice notice-error" }, h("p", {}, err.detail || String(err))));
      return;
    }
    listBox.replaceChildren(written.length
      ? h("ul", { class: "list prescriptions" },
        ...written.map((rx) => writtenItem(patientId, rx, codes, async (message) => {
          ctx.flash(message);
          await load();
          title.focus();
        })))
      : h("p", { class: "muted", id: "rx-written-empty" }, t("prescribe.none")));
  }
  await load();
  return h("section", { class: "section panel", id: "rx-section", "aria-labelledby": "rx-written-title" },
    title,
    h("p", {}, h("a", { href: `#/prescribe/${encodeURIComponent(patientId)}`, class: "btn btn-primary", id: "rx-write" },
      icon("pill"), t("prescribe.write"))),
    listBox);
}

// --- writing -------------------------------------------------------------------------------

function numberField(id, label, { value, hint, min, max, step = "1", optional = false, required = false,
  decimal = false } = {}) {
  return field({
    id, label, type: "number", hint, value, optional, required, inputmode: decimal ? "decimal" : "numeric",
    autocomplete: "off", attrs: { min, max, step },
  });
}

/** One medication of the prescription being written; key makes its ids unique in the form. */
function lineEditor(codes, key, onRemove) {
  const p = `rx-line-${key}`;
  const legend = h("legend", {});
  const med = medicationPicker({ id: `${p}-med`, label: t("prescribe.med"), hint: t("prescribe.med.hint"), required: true });
  const dose = numberField(`${p}-dose`, t("prescribe.dose"), { value: "1", min: "0", max: "1000", step: "any", required: true, decimal: true });
  const unit = h("select", { id: `${p}-unit`, name: `${p}-unit`, "aria-describedby": `${p}-unit-error` },
    ...codeOptions(codes?.dose_units, { selected: "{tbl}" }));
  const freq = numberField(`${p}-freq`, t("prescribe.freq"), { min: "1", max: "24", required: true });
  const period = numberField(`${p}-period`, t("prescribe.period"), { value: "1", min: "1", max: "31", required: true,
    hint: t("prescribe.period.hint") });
  const periodUnit = h("select", { id: `${p}-period-unit`, name: `${p}-period-unit`, "aria-describedby": `${p}-period-unit-error` },
    ...codeOptions(codes?.period_units, { selected: "d" }));
  const route = h("select", { id: `${p}-route`, name: `${p}-route`, "aria-describedby": `${p}-route-error` },
    ...codeOptions(codes?.routes, { empty: t("prescribe.route.none"), selected: "oral" }));
  const duration = numberField(`${p}-duration`, t("prescribe.duration"), { min: "1", max: "366", optional: true });
  const text = field({ id: `${p}-text`, label: t("prescribe.text"), hint: t("prescribe.text.hint"), optional: true,
    multiline: true, attrs: { rows: "2", maxlength: "300" } });
  const qty = numberField(`${p}-qty`, t("prescribe.qty"), { value: "1", min: "1", max: "12", required: true });
  const renewals = numberField(`${p}-renewals`, t("prescribe.renewals"), { value: "0", min: "0", max: "11",
    hint: t("prescribe.renewals.hint") });
  const nonSub = h("input", { type: "checkbox", id: `${p}-nonsub`, "aria-controls": `${p}-nonsub-box`, "aria-expanded": "false" });
  const reason = h("select", { id: `${p}-nonsub-reason`, name: `${p}-nonsub-reason`, required: true, "aria-required": "true" },
    ...codeOptions(codes?.non_substitution_reasons, { empty: t("prescribe.nonsub.reason.choose") }));
  const reasonBox = h("div", { id: `${p}-nonsub-box`, hidden: true },
    selectField({ id: `${p}-nonsub-reason`, label: t("prescribe.nonsub.reason"), control: reason }));
  nonSub.addEventListener("change", () => {
    reasonBox.hidden = !nonSub.checked;
    nonSub.setAttribute("aria-expanded", String(nonSub.checked));
    if (!nonSub.checked) reason.value = "";
  });
  const remove = h("button", { type: "button", class: "btn btn-danger-quiet", id: `${p}-remove` });
  const box = h("fieldset", { class: "fieldset rx-editor", id: p },
    legend,
    med.box,
    h("fieldset", { class: "fieldset dosage" },
      h("legend", {}, t("prescribe.dosage")),
      h("div", { class: "dosage-grid" },
        dose,
        selectField({ id: `${p}-unit`, label: t("prescribe.unit"), control: unit }),
        freq,
        period,
        selectField({ id: `${p}-period-unit`, label: t("prescribe.period_unit"), control: periodUnit }),
        selectField({ id: `${p}-route`, label: t("prescribe.route"), control: route }),
        duration),
      text),
    h("div", { class: "dosage-grid" }, qty, renewals),
    h("div", { class: "checkbox" }, nonSub, h("label", { for: nonSub.id }, t("rx.non_substitutable"))),
    reasonBox,
    h("div", { class: "actions" }, remove));
  remove.addEventListener("click", () => onRemove(editor));

  const input = (f) => f.querySelector("input, textarea");
  const editor = {
    box,
    remove,
    focus: () => med.focus(),
    number(n, total) {
      legend.textContent = t("prescribe.line", { n });
      remove.textContent = t("prescribe.line.remove");
      remove.setAttribute("aria-label", t("prescribe.line.remove.aria", { n }));
      remove.hidden = total < 2;
      editor.n = n;
    },
    /** Controls by API field name (after "lines[i]."), for the server's errors. */
    fields: {
      cis: med.input.id, label: med.input.id, "dosage.dose_value": input(dose).id, "dosage.dose_unit": unit.id,
      "dosage.frequency": input(freq).id, "dosage.period": input(period).id, "dosage.period_unit": periodUnit.id,
      "dosage.route": route.id, "dosage.duration_days": input(duration).id, "dosage.text": input(text).id,
      quantity: input(qty).id, renewals: input(renewals).id, non_substitution_reason: reason.id,
      non_substitutable: nonSub.id, line_id: med.input.id,
    },
    durationInput: input(duration),
    /** {line, problems}: the API body of this line and what is wrong with it. */
    read() {
      const problems = [];
      const label = t("prescribe.line", { n: editor.n });
      const need = (control, message) => problems.push({ control, label, message });
      const int = (f, { min, max, optional = false }) => {
        const el = input(f);
        const raw = el.value.trim();
        if (!raw) {
          if (!optional) need(el, t("error.required"));
          return null;
        }
        const n = Number(raw);
        if (!Number.isInteger(n) || n < min || n > max) {
          need(el, t("prescribe.range", { min, max }));
          return null;
        }
        return n;
      };
      const chosen = med.chosen();
      const typed = med.text();
      if (!chosen && typed.length < 2) need(med.input, t("prescribe.med.required"));
      const doseRaw = input(dose).value.trim().replace(",", ".");
      const doseValue = Number(doseRaw);
      if (!doseRaw) need(input(dose), t("error.required"));
      else if (!Number.isFinite(doseValue) || doseValue <= 0 || doseValue > 1000) need(input(dose), t("prescribe.dose.invalid"));
      const frequency = int(freq, { min: 1, max: 24 });
      const periodValue = int(period, { min: 1, max: 31 });
      const days = int(duration, { min: 1, max: 366, optional: true });
      const quantity = int(qty, { min: 1, max: 12 });
      const renew = int(renewals, { min: 0, max: 11, optional: true });
      if (nonSub.checked && !reason.value) need(reason, t("prescribe.nonsub.reason.required"));
      const instructions = input(text).value.trim();
      const line = {
        ...(chosen ? { cis: chosen.cis } : { label: typed }),
        dosage: {
          dose_value: doseValue, dose_unit: unit.value, frequency, period: periodValue, period_unit: periodUnit.value,
          ...(route.value ? { route: route.value } : {}),
          ...(days ? { duration_days: days } : {}),
          ...(instructions ? { text: instructions } : {}),
        },
        quantity,
        renewals: renew ?? 0,
        non_substitutable: nonSub.checked,
        ...(nonSub.checked ? { non_substitution_reason: reason.value } : {}),
      };
      return { line, problems };
    },
  };
  return editor;
}

function consentChoice() {
  const radios = [["yes", true], ["no", false]].map(([key]) => h("input", {
    type: "radio", id: `rx-consent-${key}`, name: "rx-consent", value: key, required: true,
    "aria-describedby": "rx-consent-hint rx-consent-error",
  }));
  const error = h("p", { id: "rx-consent-error", class: "field-error", hidden: true });
  const fieldset = h("fieldset", { class: "fieldset", id: "rx-consent" },
    h("legend", {}, t("prescribe.consent")),
    h("p", { id: "rx-consent-hint", class: "field-hint" }, t("prescribe.consent.hint")),
    error,
    h("div", { class: "radio-row" }, ...radios.map((r) => h("div", { class: "checkbox" },
      r, h("label", { for: r.id }, t(`prescribe.consent.${r.value}`))))));
  return {
    fieldset, radios, error,
    value: () => {
      const picked = radios.find((r) => r.checked)?.value;
      return picked === undefined ? null : picked === "yes";
    },
  };
}

async function patientSummary(patientId) {
  const known = patients.recall(patientId);
  if (known) return known;
  const summary = await api.get(`/api/pro/patients/${encodeURIComponent(patientId)}`);
  patients.remember(summary);
  return summary;
}

function noAccess(patientId) {
  return h("div", { class: "view" },
    h("p", {}, h("a", { href: `#/patient/${encodeURIComponent(patientId)}`, class: "link-back" }, t("prescribe.back"))),
    heading(t("prescribe.title")),
    h("div", { class: "notice notice-warning", id: "rx-no-access" }, h("p", {}, t("prescribe.no_access"))));
}

async function renderForm(ctx, patientId) {
  let patient;
  let codes;
  try {
    [patient, codes] = await Promise.all([patientSummary(patientId), loadCodes()]);
  } catch (err) {
    if (err.status === 404 || err.status === 400) return noAccess(patientId);
    throw err;
  }
  const name = `${patient.first_name} ${patient.birth_name}`;
  const alert = alertBox("prescribe-alert");
  const editors = [];
  const linesBox = h("div", { class: "rx-editors", id: "rx-editors" });
  const add = h("button", { type: "button", class: "btn btn-secondary", id: "rx-add-line" }, t("prescribe.line.add"));
  const live = h("p", { class: "sr-only", "aria-live": "polite", id: "rx-lines-live" });
  let added = 0; // ids stay unique when lines are removed: rx-line-1, rx-line-2…

  function renumber() {
    editors.forEach((e, i) => e.number(i + 1, editors.length));
    add.hidden = editors.length >= MAX_LINES;
  }
  function addLine() {
    added += 1;
    const editor = lineEditor(codes, added, (gone) => {
      const i = editors.indexOf(gone);
      editors.splice(i, 1);
      gone.box.remove();
      renumber();
      live.textContent = t("prescribe.line.removed", { n: i + 1 });
      (editors[i] || editors[i - 1]).focus();
    });
    editors.push(editor);
    linesBox.append(editor.box);
    renumber();
    return editor;
  }
  addLine();
  add.addEventListener("click", () => {
    const editor = addLine();
    live.textContent = t("prescribe.line.added", { n: editors.length });
    editor.focus();
  });

  const consent = consentChoice();
  const weight = field({
    id: "rx-weight", label: t("prescribe.weight"), hint: t("prescribe.weight.hint"), type: "number", optional: true,
    inputmode: "decimal", autocomplete: "off", attrs: { min: "0", max: "400", step: "any" },
  });
  const weightInput = weight.querySelector("input");
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "rx-submit" }, t("prescribe.submit"));
  const form = h("form", { id: "prescribe-form", class: "form", novalidate: true },
    alert, linesBox, live, h("div", { class: "actions" }, add), consent.fieldset, weight,
    h("div", { class: "actions" }, submit));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const problems = [];
    const lines = [];
    for (const editor of editors) {
      const { line, problems: wrong } = editor.read();
      problems.push(...wrong);
      lines.push(line);
    }
    const visible = consent.value();
    if (visible === null) {
      problems.push({ control: consent.radios[0], message: t("prescribe.consent.required"), errorEl: consent.error });
    }
    const weightRaw = weightInput.value.trim().replace(",", ".");
    const kg = weightRaw ? Number(weightRaw) : null;
    if (weightRaw && !(Number.isFinite(kg) && kg > 0 && kg <= 400)) {
      problems.push({ control: weightInput, message: t("prescribe.weight.invalid") });
    }
    if (problems.length) return errorSummary(alert, problems);
    const fieldMap = { patient_weight_kg: "rx-weight", dispensing_visible: "rx-consent-yes",
      lines: editors[0].durationInput.id };
    editors.forEach((e, i) => {
      for (const [key, id] of Object.entries(e.fields)) fieldMap[`lines[${i}].${key}`] = id;
    });
    await busy(submit, async () => {
      try {
        const rx = await api.post(`/api/pro/patients/${encodeURIComponent(patientId)}/prescriptions`, {
          lines, dispensing_visible: visible, ...(kg ? { patient_weight_kg: kg } : {}),
        });
        ctx.flash(t("prescribe.done", { number: groupNumber(rx.number), name }), { next: true });
        ctx.navigate(`prescribe/${patientId}/${rx.id}`);
      } catch (err) {
        const first = showError(alert, err, form, fieldMap);
        (first || editors[0].box.querySelector("input")).focus();
      }
    });
    return true;
  });

  return h("div", { class: "view" },
    h("p", {}, h("a", { href: `#/patient/${encodeURIComponent(patientId)}`, class: "link-back" },
      t("prescribe.back_to", { name }))),
    heading(t("prescribe.title")),
    facts([[t("dispense.patient"), name], [t("card.birth_date"), formatDate(patient.birth_date)]]),
    h("p", { class: "muted" }, t("prescribe.intro")),
    form);
}

// --- one prescription, as its prescriber sees it -----------------------------------------

async function renderOne(ctx, patientId, rxId) {
  let rx;
  let codes = null;
  try {
    [rx, codes] = await Promise.all([
      api.get(`/api/pro/prescriptions/${encodeURIComponent(rxId)}`),
      loadCodes().catch(() => null),
    ]);
  } catch (err) {
    if (err.status !== 404 && err.status !== 400 && err.status !== 403) throw err;
    return h("div", { class: "view" },
      h("p", {}, h("a", { href: `#/patient/${encodeURIComponent(patientId)}`, class: "link-back" }, t("prescribe.back"))),
      heading(t("rx.one")),
      h("div", { class: "notice notice-error" }, h("p", {}, t("rx.not_found"))));
  }
  const name = rx.patient ? `${rx.patient.first_name} ${rx.patient.birth_name}` : "";
  const summary = rx.status === "cancelled" ? "cancelled" : rx.summary;
  return h("div", { class: "view" },
    h("p", {}, h("a", { href: `#/patient/${encodeURIComponent(patientId)}`, class: "link-back" },
      name ? t("prescribe.back_to", { name }) : t("prescribe.back"))),
    heading(t("rx.title", { date: formatDate(rx.authored_on) })),
    summary ? h("p", { id: "rx-summary" }, statusBadge(summary)) : null,
    h("section", { class: "section panel", "aria-labelledby": "rx-details-title" },
      h("h2", { id: "rx-details-title" }, t("rx.details")),
      facts([
        [t("rx.number"), h("span", { class: "rx-number-inline", id: "rx-number" }, groupNumber(rx.number))],
        [t("dispense.patient"), name],
        [t("card.birth_date"), rx.patient ? formatDate(rx.patient.birth_date) : null],
        [t("rx.authored_on"), formatDateTime(rx.authored_on)],
        [t("rx.first_dispense_by"), formatDate(rx.first_dispense_by)],
        [t("rx.treatment_end"), formatDate(rx.treatment_end)],
        [t("rx.weight"), rx.patient_weight_kg ? t("rx.weight.kg", { kg: rx.patient_weight_kg }) : null],
      ]),
      h("p", { class: rx.dispensing_visible ? "muted" : "muted rx-not-allowed" },
        t(rx.dispensing_visible ? "prescribe.dispensing.shown" : "prescribe.dispensing.hidden")),
      h("div", { class: "actions" }, pdfLink(rx),
        h("a", { href: `#/prescribe/${encodeURIComponent(patientId)}`, class: "btn btn-quiet", id: "rx-write-another" },
          t("prescribe.another")))),
    h("section", { class: "section panel", "aria-labelledby": "rx-lines-title" },
      h("h2", { id: "rx-lines-title" }, t("rx.lines")),
      h("ol", { class: "rx-lines" }, ...rx.lines.map((line) => h("li", { class: "rx-line", "data-id": line.id },
        ...lineDetails(line, codes))))),
    cancellable(rx)
      ? h("section", { class: "section panel", "aria-labelledby": "rx-cancel-title" },
        h("h2", { id: "rx-cancel-title" }, t("prescribe.cancel.title")),
        h("p", { class: "muted" }, t("prescribe.cancel.explain")),
        cancelButton(rx, async (message) => {
          ctx.flash(message, { next: true });
          await ctx.rerender();
          document.querySelector("#view h1")?.focus();
        }))
      : null);
}

export async function render(ctx) {
  const [patientId, rxId] = ctx.params;
  if (!patientId) {
    ctx.navigate("patients", { replace: true });
    return h("div", { class: "view" });
  }
  return rxId ? renderOne(ctx, patientId, rxId) : renderForm(ctx, patientId);
}
