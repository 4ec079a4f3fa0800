// #/dispense: the pharmacist opens a prescription by its number (read from
// its QR code with the camera where the browser can, or typed), sees the
// patient, the prescriber and each line with what remains, and records what
// is handed over now: a quantity per line, and a substitution with its coded
// type and reason and the product handed over. Other professionals are told
// where prescriptions are written.
// #/dispense?number=<number>&thread=<id>: opened from a message that names the
// prescription (inbox.js): it is looked up at once, the number taken out of the
// address, and a link leads back to the conversation.

import { api } from "../api.js";
import {
  alertBox, badge, busy, clearErrors, errorSummary, facts, field, h, heading, holdFor, showError,
} from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { selectField } from "./documents.js";
import {
  codeOptions, dispensesList, dosageSentence, groupNumber, loadCodes, medicationPicker, nonSubstitutable,
  quantityText, statusBadge,
} from "./prescriptions.js";
import { qrScanner, qrScanSupported } from "./pro.js";

const PHARMACIST = "21";
const OPEN_STATUSES = ["to_dispense", "partly_dispensed"];

function remaining(line) {
  return Math.max(0, line.limit - (line.dispensed || 0));
}

/** One line of the dispensing form: what was prescribed, what remains, what is handed over now. */
function lineForm(line, index, codes) {
  const left = remaining(line);
  const open = OPEN_STATUSES.includes(line.status) && left > 0;
  const prefix = `dispense-${index}`;
  const head = [
    h("h3", { class: "rx-line-title", id: `${prefix}-title` }, t("rx.line.title", { n: line.position, label: line.label })),
    h("p", { class: "rx-dosage" }, dosageSentence(line, codes)),
    facts([
      [t("rx.quantity"), quantityText(line.quantity, line.quantity_unit)],
      [t("rx.renewals"), line.renewals ? String(line.renewals) : t("rx.renewals.none")],
      [t("rx.limit"), quantityText(line.limit, line.quantity_unit)],
      [t("rx.dispensed"), String(line.dispensed ?? 0)],
      [t("rx.remaining"), h("strong", { id: `${prefix}-remaining` }, quantityText(left, line.quantity_unit))],
    ]),
    nonSubstitutable(line, codes),
    h("p", {}, statusBadge(line.status)),
    dispensesList(line, codes),
  ];
  const item = h("li", { class: "rx-line dispense-line", "data-id": line.id });
  if (!open) {
    item.append(...head.filter(Boolean));
    return { item, line, index, open: false };
  }

  const qtyField = field({
    id: `${prefix}-qty`, label: t("dispense.qty", { label: line.label }), type: "number", inputmode: "numeric",
    hint: t("dispense.qty.hint", { max: left }), value: String(Math.min(line.quantity, left)),
    attrs: { min: "0", max: String(left), step: "1" },
  });
  const qty = qtyField.querySelector("input");
  const parts = { item, line, index, open: true, qty, left };

  if (!line.non_substitutable) {
    const toggle = h("input", {
      type: "checkbox", id: `${prefix}-substitute`, "aria-controls": `${prefix}-substitution`,
      "aria-expanded": "false",
    });
    const type = h("select", { id: `${prefix}-subtype`, name: `${prefix}-subtype`, "aria-describedby": `${prefix}-subtype-error` },
      ...codeOptions(codes?.substitution_types, { empty: t("dispense.sub.type.choose") }));
    const reason = h("select", { id: `${prefix}-subreason`, name: `${prefix}-subreason`, "aria-describedby": `${prefix}-subreason-error` },
      ...codeOptions(codes?.substitution_reasons, { empty: t("dispense.sub.reason.choose") }));
    const product = medicationPicker({
      id: `${prefix}-product`, label: t("dispense.sub.product"), hint: t("dispense.sub.product.hint"),
    });
    const box = h("div", { class: "form substitution", id: `${prefix}-substitution`, hidden: true },
      selectField({ id: `${prefix}-subtype`, label: t("dispense.sub.type"), control: type }),
      selectField({ id: `${prefix}-subreason`, label: t("dispense.sub.reason"), control: reason }),
      product.box);
    toggle.addEventListener("change", () => {
      box.hidden = !toggle.checked;
      toggle.setAttribute("aria-expanded", String(toggle.checked));
    });
    Object.assign(parts, { toggle, type, reason, product });
    item.append(...head.filter(Boolean), h("div", { class: "form dispense-inputs" }, qtyField,
      h("div", { class: "checkbox" }, toggle, h("label", { for: toggle.id }, t("dispense.sub.toggle"))),
      box));
  } else {
    item.append(...head.filter(Boolean), h("div", { class: "form dispense-inputs" }, qtyField));
  }
  return parts;
}

/**
 * The prescription as the pharmacist sees it, with its dispensing form.
 * onReload(prescription, notice) shows it again: after a dispensing, or after
 * a 409 with the prescription as it is now and a notice saying why.
 */
function prescriptionPanel(ctx, rx, codes, { notice = null, onReload } = {}) {
  const alert = alertBox("dispense-alert");
  const title = h("h2", { id: "dispense-rx-title", tabindex: "-1" },
    t("dispense.rx.title", { number: groupNumber(rx.number) }));
  const patient = rx.patient
    ? `${rx.patient.first_name} ${rx.patient.birth_name}`
    : "";
  const summary = rx.status === "cancelled" ? "cancelled" : rx.summary;
  const lines = rx.lines.map((line, i) => lineForm(line, i, codes));
  const openLines = lines.filter((l) => l.open);
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "dispense-submit" },
    t("dispense.submit"));
  const form = h("form", { id: "dispense-form", class: "form", novalidate: true },
    openLines.length ? alert : null,
    h("ol", { class: "rx-lines" }, ...lines.map((l) => l.item)),
    openLines.length ? h("div", { class: "actions" }, submit) : null);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const problems = [];
    const body = [];
    const fieldMap = {};
    for (const l of openLines) {
      const name = t("rx.line.short", { n: l.line.position });
      const raw = l.qty.value.trim();
      const n = Number(raw);
      if (raw === "" || !Number.isInteger(n) || n < 0) {
        problems.push({ control: l.qty, label: name, message: t("dispense.qty.invalid") });
        continue;
      }
      if (n > l.left) {
        problems.push({ control: l.qty, label: name, message: t("dispense.qty.too_many", { max: l.left }) });
        continue;
      }
      if (n === 0) continue;
      const item = { line_id: l.line.id, quantity: n, expected_dispensed: l.line.dispensed ?? 0 };
      if (l.toggle?.checked) {
        if (!l.type.value) problems.push({ control: l.type, label: name, message: t("dispense.sub.type.required") });
        if (!l.reason.value) problems.push({ control: l.reason, label: name, message: t("dispense.sub.reason.required") });
        if (!l.product.chosen()) {
          problems.push({ control: l.product.input, label: name, message: t("dispense.sub.product.required") });
        }
        Object.assign(item, {
          substitution_type: l.type.value, substitution_reason: l.reason.value, cis: l.product.chosen()?.cis,
        });
      }
      const k = body.length;
      Object.assign(fieldMap, {
        [`lines[${k}].quantity`]: l.qty.id, [`lines[${k}].line_id`]: l.qty.id,
        [`lines[${k}].expected_dispensed`]: l.qty.id,
        ...(l.toggle ? {
          [`lines[${k}].substitution_type`]: l.type.id, [`lines[${k}].substitution_reason`]: l.reason.id,
          [`lines[${k}].cis`]: l.product.input.id,
        } : {}),
      });
      body.push(item);
    }
    if (problems.length) return errorSummary(alert, problems);
    if (!body.length) return errorSummary(alert, [{ control: openLines[0].qty, message: t("dispense.nothing") }]);
    await busy(submit, async () => {
      try {
        const updated = await api.post(`/api/pro/prescriptions/${encodeURIComponent(rx.id)}/dispense`,
          { lines: body });
        const count = body.reduce((sum, item) => sum + item.quantity, 0);
        ctx.flash(t("dispense.done", { count, patient }));
        onReload(updated, null);
      } catch (err) {
        if (err.status === 409) {
          // Another pharmacy dispensed meanwhile: show what is true now.
          let fresh = null;
          try {
            fresh = await api.get(`/api/pro/prescriptions/${encodeURIComponent(rx.id)}`);
          } catch {
            fresh = null;
          }
          if (fresh) {
            onReload(fresh, t("dispense.conflict"));
            return;
          }
        }
        const first = showError(alert, err, form, fieldMap);
        (first || openLines[0].qty).focus();
      }
    });
    return true;
  });

  return h("section", { class: "section panel", id: "dispense-rx", "aria-labelledby": "dispense-rx-title" },
    title,
    notice ? h("div", { class: "notice notice-warning", role: "alert", id: "dispense-notice" }, h("p", {}, notice)) : null,
    h("p", {}, statusBadge(summary)),
    facts([
      [t("dispense.patient"), patient],
      [t("card.birth_date"), rx.patient ? formatDate(rx.patient.birth_date) : null],
      [t("rx.prescriber"), [rx.prescriber.name, rx.prescriber.profession].filter(Boolean).join(", ")],
      [t("rx.structure"), rx.prescriber.structure],
      [t("rx.prescriber_rpps"), rx.prescriber.rpps],
      [t("rx.authored_on"), formatDate(rx.authored_on)],
      [t("rx.first_dispense_by"), formatDate(rx.first_dispense_by)],
      [t("rx.treatment_end"), formatDate(rx.treatment_end)],
      [t("rx.weight"), rx.patient_weight_kg ? t("rx.weight.kg", { kg: rx.patient_weight_kg }) : null],
    ]),
    rx.status === "cancelled" ? h("p", {}, badge(t("rx.status.cancelled"), "error")) : null,
    openLines.length ? h("p", { class: "muted" }, t("dispense.intro")) : h("p", { class: "muted" }, t("dispense.closed")),
    form);
}

function notPharmacist() {
  return h("div", { class: "view" },
    heading(t("dispense.title")),
    h("div", { class: "notice notice-info", id: "dispense-not-pharmacist" },
      h("p", {}, t("dispense.not_pharmacist")),
      h("p", {}, h("a", { href: "#/patients", class: "link-arrow" }, t("dispense.to_patients")))));
}

/** The number and the conversation given in the address; the number is then taken out of it. */
function fromAddress(ctx) {
  const number = (ctx.query.get("number") || "").trim();
  const thread = (ctx.query.get("thread") || "").trim();
  if (number) {
    // Not kept in the history: going back and forth does not open it again.
    history.replaceState(history.state, "", `#/dispense${thread ? `?thread=${encodeURIComponent(thread)}` : ""}`);
  }
  return { number, thread };
}

export async function render(ctx) {
  const given = fromAddress(ctx);
  const [me, canScan, codes] = await Promise.all([
    api.get("/api/pro/me"), qrScanSupported(), loadCodes().catch(() => null),
  ]);
  if (me.profession_code !== PHARMACIST) return notPharmacist();

  const alert = alertBox("lookup-alert");
  const result = h("div", { id: "dispense-result" });
  const numberField = field({
    id: "rx-lookup-number", label: t("dispense.number"), hint: t("dispense.number.hint"), required: true,
    autocomplete: "off", attrs: { maxlength: "40", spellcheck: "false", autocapitalize: "characters" },
  });
  const input = numberField.querySelector("input");
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "rx-lookup-submit" },
    t("dispense.open"));
  const form = h("form", { id: "rx-lookup-form", class: "form", novalidate: true }, alert, numberField, submit);

  let patient = null;
  function show(rx, notice) {
    // The answer to a dispensing does not repeat the patient: keep the one read at the opening.
    patient = rx.patient || patient;
    const shown = { ...rx, patient };
    result.replaceChildren(prescriptionPanel(ctx, shown, codes, { notice, onReload: show }));
    const target = result.querySelector("#dispense-rx-title");
    target.focus();
  }

  /** Look the number up; shown: whether the form is on the screen yet (else focus waits for it). */
  async function open(number, { shown = true } = {}) {
    try {
      const rx = await api.post("/api/pro/prescriptions/lookup", { number });
      result.replaceChildren();
      input.value = "";
      patient = null;
      ctx.flash(t("dispense.opened", { patient: rx.patient ? `${rx.patient.first_name} ${rx.patient.birth_name}` : "" }),
        { next: !shown });
      if (shown) show(rx, null);
      else {
        patient = rx.patient || null;
        result.replaceChildren(prescriptionPanel(ctx, { ...rx, patient }, codes, { notice: null, onReload: show }));
        // After the shell has put the screen in place and focused its title.
        setTimeout(() => document.getElementById("dispense-rx-title")?.focus(), 0);
      }
    } catch (err) {
      if (!shown && err.status === 401) throw err;
      result.replaceChildren();
      input.value = number;
      showError(alert, err, form, { number: "rx-lookup-number" });
      if (err.status === 404) {
        // Its slot is looked up in the form itself: the screen may not be shown yet.
        const slot = numberField.querySelector(".field-error");
        slot.textContent = err.detail || t("dispense.unknown");
        slot.hidden = false;
        input.setAttribute("aria-invalid", "true");
      }
      holdFor(submit, err);
      if (shown) {
        input.select();
        input.focus();
      } else {
        setTimeout(() => input.focus(), 0);
      }
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const number = input.value.trim();
    if (!number) return errorSummary(alert, [{ control: input, message: t("error.required") }]);
    await busy(submit, () => open(number));
    return true;
  });

  if (given.number) await open(given.number, { shown: false });

  return h("div", { class: "view" },
    given.thread
      ? h("p", {}, h("a", { href: `#/inbox/${encodeURIComponent(given.thread)}`, class: "link-back", id: "dispense-back-thread" },
        t("dispense.back_thread")))
      : null,
    heading(t("dispense.title")),
    h("section", { class: "section panel", "aria-labelledby": "lookup-title" },
      h("h2", { id: "lookup-title" }, t("dispense.lookup.title")),
      h("p", { class: "muted" }, t("dispense.lookup.intro", { pharmacy: me.structure_name || "" })),
      canScan ? qrScanner(ctx, (text) => {
        input.value = text.trim();
        form.requestSubmit();
      }, {
        read: t("dispense.scan.read"), denied: t("dispense.scan.denied"), failed: t("dispense.scan.failed"),
        orType: t("dispense.scan.or_type"),
      }) : null,
      form),
    result);
}
