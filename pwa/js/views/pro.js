// #/pro: the professional's identity, finding a patient (INS and traits, or
// a code the patient shared) and the card check (presentation token, read
// with the camera where the browser can decode QR codes, or typed).
// #/patients: "Mes patients", the patients the professional has a basis for.

import { api } from "../api.js";
import {
  alertBox, badge, busy, clearErrors, facts, field, h, heading, icon, invalid, showError,
} from "../dom.js";
import { formatDate, formatDateTime, formatNir, t, tOr } from "../i18n.js";
import * as patients from "../patients.js";

function period(start, end) {
  if (start && end) return t("common.from_to", { start: formatDate(start), end: formatDate(end) });
  if (start) return t("common.from", { start: formatDate(start) });
  return "";
}

function verifiedCard(result) {
  const id = result.identity;
  const name = `${id.first_names.join(" ")} ${id.used_name || id.birth_name}`;
  const status = result.ins.identity_status;
  return h("section", { class: "panel verified", "aria-labelledby": "verify-result-title" },
    h("h3", { id: "verify-result-title", tabindex: "-1" }, t("pro.verify.ok")),
    h("p", {}, result.presented_by_delegate
      ? badge(t("pro.verify.delegate"), "warning")
      : badge(t("pro.verify.self"), "success")),
    h("h4", {}, t("pro.verify.identity")),
    facts([
      [t("card.name"), name],
      [t("card.birth_name"), id.used_name ? id.birth_name : null],
      [t("card.birth_date"), formatDate(id.birth_date)],
      [t("card.sex"), tOr(`card.sex.${id.sex}`, id.sex)],
      [t("card.birthplace"), id.birthplace_code],
    ]),
    h("h4", {}, t("card.ins.title")),
    facts([
      [t("card.ins.value"), formatNir(result.ins.value)],
      [t("card.ins.oid"), result.ins.oid],
      [t("card.ins.status"), `${t(`ins.${status}`)} (${status})`],
    ]),
    h("p", {}, result.ins.usable ? badge(t("card.ins.usable"), "success") : badge(t("card.ins.not_usable"), "warning")),
    h("h4", {}, t("card.amo.title")),
    facts([
      [t("card.amo.regime"), result.amo.regime],
      [t("card.amo.caisse"), `${result.amo.caisse} (${result.amo.caisse_code})`],
      [t("card.amo.rights"), period(result.amo.rights_start, result.amo.rights_end)],
    ]),
    h("p", {}, result.amo.rights_active ? badge(t("card.amo.active"), "success") : badge(t("card.amo.inactive"), "error")),
    h("h4", {}, t("card.amc.title")),
    result.amc
      ? [facts([
        [t("card.amc.organisation"), result.amc.organisation],
        [t("card.amc.number"), result.amc.number],
        [t("card.amc.contract"), result.amc.contract],
        [t("card.amc.tpp"), period(result.amc.third_party_payment_start, result.amc.third_party_payment_end)],
      ]),
      h("p", {}, result.amc.third_party_payment_active
        ? badge(t("card.amc.tpp_active"), "success") : badge(t("card.amc.tpp_inactive"), "neutral"))]
      : h("p", { class: "muted" }, t("card.amc.none")));
}

/** The access basis of a professional to a patient, as a badge. */
export function basisBadge(patient) {
  if (!patient?.basis) return badge(t("patient.basis.none"), "warning");
  const text = tOr(`patient.basis.${patient.basis}`, patient.basis);
  return badge(patient.until ? `${text} — ${t("common.until", { date: formatDateTime(patient.until) })}` : text,
    patient.basis === "emergency" ? "error" : "success");
}

/** Sex as two radio buttons in a fieldset; returns {fieldset, value()}. */
export function sexChoice(prefix, value) {
  const radios = ["F", "M"].map((sex) => h("input", {
    type: "radio", id: `${prefix}-${sex}`, name: prefix, value: sex, checked: value === sex,
    "aria-describedby": `${prefix}-error`,
  }));
  const fieldset = h("fieldset", { class: "fieldset", id: prefix },
    h("legend", {}, t("card.sex")),
    h("p", { id: `${prefix}-error`, class: "field-error", hidden: true }),
    h("div", { class: "radio-row" }, ...radios.map((r) => h("div", { class: "checkbox" },
      r, h("label", { for: r.id }, t(`card.sex.${r.value}`))))));
  const error = fieldset.querySelector(".field-error");
  return {
    fieldset,
    radios,
    value: () => radios.find((r) => r.checked)?.value || "",
    /** Show a client-side error on the choice and focus it. */
    invalid(alertEl, message) {
      error.textContent = message;
      error.hidden = false;
      alertEl.replaceChildren(h("div", { class: "notice notice-error" }, h("p", { class: "alert-text" }, message)));
      radios[0].focus();
      return false;
    },
  };
}

function searchSection(ctx) {
  const alert = alertBox("search-alert");
  const result = h("div", { id: "search-result" });
  const insField = field({
    id: "patient-ins", label: t("patient.ins"), hint: t("patient.ins.hint"), required: true,
    autocomplete: "off", attrs: { maxlength: "25", spellcheck: "false", autocapitalize: "characters" },
  });
  const birthNameField = field({ id: "patient-birth-name", label: t("card.birth_name"), required: true,
    autocomplete: "off", attrs: { maxlength: "100", spellcheck: "false", autocapitalize: "characters" } });
  const firstNameField = field({ id: "patient-first-name", label: t("patient.first_name"),
    hint: t("patient.first_name.hint"), required: true, autocomplete: "off",
    attrs: { maxlength: "100", spellcheck: "false" } });
  const birthDateField = field({ id: "patient-birth-date", label: t("card.birth_date"), type: "date",
    required: true });
  const sex = sexChoice("patient-sex");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("patient.search.submit"));
  const form = h("form", { id: "patient-search-form", class: "form", novalidate: true },
    alert, insField, birthNameField, firstNameField, birthDateField, sex.fieldset, submit);
  const input = (f) => f.querySelector("input");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const traits = {
      ins: input(insField).value.replace(/\s/g, ""),
      birth_name: input(birthNameField).value.trim(),
      first_name: input(firstNameField).value.trim(),
      birth_date: input(birthDateField).value,
      sex: sex.value(),
    };
    for (const [key, f] of [["ins", insField], ["birth_name", birthNameField], ["first_name", firstNameField]]) {
      if (!traits[key]) return invalid(alert, input(f), t("error.required"));
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(traits.birth_date)) return invalid(alert, input(birthDateField), t("error.date"));
    if (!traits.sex) return sex.invalid(alert, t("patient.sex.required"));
    await busy(submit, async () => {
      try {
        const out = await api.post("/api/pro/patients/search", traits);
        patients.remember(out, traits);
        const name = `${out.first_name} ${out.birth_name}`;
        result.replaceChildren(h("div", { class: "panel patient-found", id: "patient-found" },
          h("h3", { id: "patient-found-title", tabindex: "-1" }, name),
          facts([[t("card.birth_date"), formatDate(out.birth_date)], [t("patient.access"), basisBadge(out)]]),
          out.basis ? null : h("p", { class: "muted" }, t("patient.basis.none.help")),
          h("p", {}, h("a", { href: `#/patient/${out.id}`, class: "btn btn-primary" }, t("patient.open")))));
        ctx.flash(t("patient.found", { name }));
        result.querySelector("h3").focus();
      } catch (err) {
        const first = showError(alert, err, form, {
          ins: "patient-ins", birth_name: "patient-birth-name", first_name: "patient-first-name",
          birth_date: "patient-birth-date",
        });
        (first || input(insField)).focus();
      }
    });
    return true;
  });

  return h("section", { class: "section panel", "aria-labelledby": "search-title" },
    h("h2", { id: "search-title" }, t("patient.search.title")),
    h("p", { class: "muted" }, t("patient.search.intro")),
    form, result);
}

function redeemSection(ctx) {
  const alert = alertBox("redeem-alert");
  const codeField = field({
    id: "redeem-code", label: t("patient.redeem.code"), hint: t("patient.redeem.code.hint"), required: true,
    autocomplete: "off", attrs: { maxlength: "40", spellcheck: "false", autocapitalize: "characters" },
  });
  const input = codeField.querySelector("input");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("patient.redeem.submit"));
  const form = h("form", { id: "redeem-form", class: "form", novalidate: true }, alert, codeField, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const code = input.value.trim();
    if (!code) return invalid(alert, input, t("error.required"));
    await busy(submit, async () => {
      try {
        const out = await api.post("/api/pro/temporary-access/redeem", { code });
        patients.remember(out);
        ctx.flash(t("patient.redeem.done", {
          name: `${out.first_name} ${out.birth_name}`, date: formatDateTime(out.until),
        }), { next: true });
        ctx.navigate(`patient/${out.id}`);
      } catch (err) {
        showError(alert, err, form, { code: "redeem-code" });
        input.select();
        input.focus();
      }
    });
    return true;
  });
  return h("section", { class: "section panel", "aria-labelledby": "redeem-title" },
    h("h2", { id: "redeem-title" }, t("patient.redeem.title")),
    h("p", { class: "muted" }, t("patient.redeem.intro")),
    form);
}

// --- reading the presented QR code with the camera ----------------------------------

/** Whether this browser decodes QR codes from a camera (BarcodeDetector with "qr_code"). */
export async function qrScanSupported() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return false;
  try {
    return (await window.BarcodeDetector.getSupportedFormats()).includes("qr_code");
  } catch {
    return false;
  }
}

/**
 * A "scan with the camera" button, the camera view and a live status line.
 * onRead(text) gets the first QR code read; the camera stops as soon as a code
 * is read, on "stop", when the page is hidden and when the view is left.
 * texts overrides the messages said when a code is read, when the camera is
 * refused or missing, and the hint below ({read, denied, failed, orType}).
 */
export function qrScanner(ctx, onRead, texts = {}) {
  const say = {
    read: t("pro.scan.read"), denied: t("pro.scan.denied"), failed: t("pro.scan.failed"),
    orType: t("pro.scan.or_type"), ...texts,
  };
  const status = h("p", { id: "scan-status", class: "muted", role: "status" });
  const video = h("video", {
    id: "scan-video", class: "qr", muted: true, playsinline: true, "aria-label": t("pro.scan.video"),
  });
  video.muted = true;
  const box = h("div", { class: "qr-box", hidden: true }, video);
  const start = h("button", { type: "button", id: "scan-start", class: "btn btn-secondary" },
    icon("camera"), t("pro.scan.start"));
  const stopButton = h("button", { type: "button", id: "scan-stop", class: "btn btn-quiet", hidden: true },
    t("pro.scan.stop"));
  let stream = null;
  let timer = null;
  let detector = null;
  let left = false;

  function stop(message) {
    clearTimeout(timer);
    timer = null;
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.srcObject = null;
    box.hidden = true;
    stopButton.hidden = true;
    start.hidden = false;
    if (message !== undefined) status.textContent = message;
  }

  async function look() {
    if (!stream) return;
    try {
      const value = (await detector.detect(video)).find((code) => code.rawValue)?.rawValue;
      if (value && stream) {
        stop(say.read);
        onRead(value);
        return;
      }
    } catch {
      /* no frame yet */
    }
    if (stream) timer = setTimeout(look, 200);
  }

  start.addEventListener("click", async () => {
    status.textContent = t("pro.scan.starting");
    try {
      detector = detector || new window.BarcodeDetector({ formats: ["qr_code"] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (err) {
      stop(err?.name === "NotAllowedError" || err?.name === "SecurityError"
        ? say.denied : say.failed);
      return;
    }
    if (left) {
      stop();
      return;
    }
    video.srcObject = stream;
    box.hidden = false;
    start.hidden = true;
    stopButton.hidden = false;
    stopButton.focus();
    status.textContent = t("pro.scan.active");
    try {
      await video.play();
    } catch {
      /* autoplay refused: frames still arrive for the detector */
    }
    look();
  });
  stopButton.addEventListener("click", () => {
    stop(t("pro.scan.stopped"));
    start.focus();
  });
  const onHidden = () => {
    if (document.hidden && stream) stop(t("pro.scan.stopped"));
  };
  document.addEventListener("visibilitychange", onHidden);
  ctx.onLeave(() => {
    left = true;
    document.removeEventListener("visibilitychange", onHidden);
    stop();
  });
  return h("div", { class: "scan", id: "scan" },
    h("div", { class: "actions" }, start, stopButton), status, box,
    h("p", { class: "muted" }, say.orType));
}

export async function render(ctx) {
  const [me, canScan] = await Promise.all([api.get("/api/pro/me"), qrScanSupported()]);

  const alert = alertBox("verify-alert");
  const result = h("div", { id: "verify-result" });
  const tokenField = field({
    id: "presentation-token",
    label: t("pro.verify.token"),
    hint: t("pro.verify.token.hint"),
    required: true,
    multiline: true,
    autocomplete: "off",
    attrs: { rows: "4", spellcheck: "false", maxlength: "4096" },
  });
  const input = tokenField.querySelector("textarea");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("pro.verify.submit"));
  const form = h("form", { id: "verify-form", class: "form", novalidate: true }, alert, tokenField, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const token = input.value.trim();
    if (!token) return invalid(alert, input, t("error.required"));
    await busy(submit, async () => {
      try {
        const out = await api.post("/api/pro/presentations/verify", { token });
        input.value = "";
        result.replaceChildren(verifiedCard(out));
        ctx.flash(t("pro.verify.ok.announce", {
          name: `${out.identity.first_name} ${out.identity.used_name || out.identity.birth_name}`,
        }));
        result.querySelector("h3").focus();
      } catch (err) {
        showError(alert, err, form, { token: "presentation-token" });
        input.focus();
      }
    });
    return true;
  });

  return h("div", { class: "view" },
    heading(t("pro.title")),
    h("section", { class: "section panel", "aria-labelledby": "pro-identity-title" },
      h("h2", { id: "pro-identity-title" }, t("pro.identity.title")),
      h("p", { class: "list-title" }, `${me.first_name} ${me.last_name}`),
      facts([
        [t("pro.profession"), me.profession],
        [t("pro.specialty"), me.specialty],
        [t("pro.structure"), me.structure_name],
        [t("pro.rpps"), me.rpps],
        [t("pro.national_id"), me.national_id],
        [t("pro.finess"), me.finess],
      ])),
    redeemSection(ctx),
    searchSection(ctx),
    h("section", { class: "section panel", "aria-labelledby": "verify-title" },
      h("h2", { id: "verify-title" }, t("pro.verify.title")),
      h("p", { class: "muted" }, t("pro.verify.intro")),
      canScan ? qrScanner(ctx, (text) => {
        input.value = text;
        form.requestSubmit();
      }) : null,
      form,
      result));
}

// --- #/patients: "Mes patients" -------------------------------------------------------

const PATIENTS_PAGE = 50;

function patientItem(patient) {
  return h("li", { class: "list-item patient-item", "data-id": patient.id },
    h("div", { class: "list-main" },
      h("p", { class: "list-title" },
        h("a", { href: `#/patient/${encodeURIComponent(patient.id)}`, onclick: () => patients.remember(patient) },
          patient.display_name)),
      h("p", { class: "muted" }, t("pro.patients.born", { date: formatDate(patient.birth_date) })),
      h("p", {}, basisBadge(patient))));
}

export const patientsView = {
  async render(ctx) {
    const first = await api.get(`/api/pro/patients?limit=${PATIENTS_PAGE}`);
    const alert = alertBox("patients-alert");
    const count = h("p", { id: "patients-count", class: "muted", role: "status" });
    const list = h("ul", { class: "list", id: "patients-list" });
    const more = h("button", { type: "button", id: "patients-more", class: "btn btn-secondary", hidden: true },
      t("pro.patients.more"));
    let cursor = null;

    function fill(page) {
      list.append(...page.items.map(patientItem));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      count.textContent = page.total ? t("pro.patients.count", { shown: list.children.length, total: page.total }) : "";
    }
    fill(first);

    more.addEventListener("click", async () => {
      await busy(more, async () => {
        try {
          const before = list.children.length;
          fill(await api.get(`/api/pro/patients?limit=${PATIENTS_PAGE}&cursor=${encodeURIComponent(cursor)}`));
          // Keep the focus in the list, on the first new patient.
          list.children[before]?.querySelector("a")?.focus();
        } catch (err) {
          showError(alert, err);
        }
      });
    });

    const empty = h("div", { class: "notice notice-info", id: "patients-empty" },
      h("p", {}, t("pro.patients.empty")),
      h("p", {}, t("pro.patients.empty.help")),
      h("p", {}, h("a", { href: "#/pro", class: "link-arrow" }, t("pro.patients.find"))));
    return h("div", { class: "view" },
      heading(t("pro.patients.title")),
      h("section", { class: "section panel" },
        h("p", { class: "muted" }, t("pro.patients.intro")),
        alert,
        count,
        first.items.length ? list : empty,
        h("div", { class: "actions" }, more)));
  },
};
