// #/prescriptions: the e-prescriptions of the profile shown (self, a child,
// a card entrusted), newest first, with a status per prescription.
// #/prescriptions/<id>: one prescription: its lines and what was dispensed
// where and when, its PDF copy, a full-screen QR code to show at the counter
// and sending it to a pharmacy in a secure message.
//
// Also the pieces the professionals' screens share (dispense.js, prescribe.js):
// the code lists, a line's words, status badges and the medication search.

import { api } from "../api.js";
import {
  alertBox, badge, busy, clearErrors, errorSummary, facts, field, h, heading, icon, showError,
} from "../dom.js";
import { formatDate, formatDateTime, getLang, t, tOr } from "../i18n.js";
import { pager, profileName } from "./documents.js";

const PAGE_SIZE = 20;
const OPEN_STATUSES = ["to_dispense", "partly_dispensed"];

// --- shared pieces -------------------------------------------------------------------------

let codesPromise = null;

/** The code lists of prescribing and dispensing (GET /api/prescription-codes), asked once. */
export function loadCodes() {
  if (!codesPromise) {
    codesPromise = api.get("/api/prescription-codes").catch((err) => {
      codesPromise = null;
      throw err;
    });
  }
  return codesPromise;
}

function capital(text) {
  return text ? text[0].toLocaleUpperCase() + text.slice(1) : "";
}

/** The words of a code in the language shown ("G" → "Générique (même composition)"). */
export function codeLabel(list, code) {
  const entry = (list || []).find((c) => c.code === code);
  return entry ? capital(entry[getLang()] || entry.fr) : code || "";
}

/** <option>s for a code list, after an optional empty first choice. */
export function codeOptions(list, { empty, selected } = {}) {
  return [
    empty ? h("option", { value: "" }, empty) : null,
    ...(list || []).map((c) => h("option", { value: c.code, selected: c.code === selected },
      capital(c[getLang()] || c.fr))),
  ];
}

/** "ABCDEF GHIJKL MNOPQR": the 18 characters of a number in groups of 6. */
export function groupNumber(number) {
  return (String(number || "").match(/.{1,6}/g) || []).join(" ");
}

const STATUS_TONES = {
  to_dispense: "info", partly_dispensed: "warning", dispensed: "success", expired: "neutral", cancelled: "error",
};

/** A prescription's or a line's status as a badge with its words (never colour alone). */
export function statusBadge(status) {
  if (!status) return null;
  return badge(tOr(`rx.status.${status}`, status), STATUS_TONES[status] || "neutral");
}

function formatNumber(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value ?? "");
  return new Intl.NumberFormat(getLang() === "en" ? "en-GB" : "fr-FR",
    { maximumFractionDigits: 3, useGrouping: false }).format(n);
}

function isPlural(value) {
  const n = Number(value);
  return getLang() === "en" ? n !== 1 : n >= 2;
}

function unitWord(codes, unit, plural) {
  const lang = getLang();
  const folded = String(unit || "").toLowerCase();
  const entry = (codes?.dose_units || []).find((c) => c.code === unit
    || [c.fr, c.fr_plural, c.en, c.en_plural].some((w) => w && w.toLowerCase() === folded));
  if (!entry) return String(unit || "");
  return plural ? entry[`${lang}_plural`] || entry[lang] : entry[lang];
}

function timing(codes, dosage) {
  const lang = getLang();
  if (!dosage.frequency) return "";
  const entry = (codes?.period_units || []).find((c) => c.code === (dosage.period_unit || "d"));
  if (!entry) return "";
  const n = formatNumber(dosage.frequency);
  const times = lang === "fr" ? `${n} fois` : ({ 1: "once", 2: "twice" }[n] || `${n} times`);
  const period = formatNumber(dosage.period || 1);
  if (period === "1") return `${times} ${entry[`${lang}_per`]}`;
  const every = entry[`${lang}_every`].replace("{n}", period);
  return n === "1" ? every : `${times} ${every}`;
}

/**
 * A line's dosage as a sentence. In French, the words of the prescription
 * itself (those of its PDF); in English, built the same way from the codes.
 */
export function dosageSentence(line, codes) {
  if (getLang() === "fr" || !codes || !line.dosage) return line.dosage_text;
  const d = line.dosage;
  const head = [];
  if (d.dose_value !== null && d.dose_value !== undefined) {
    head.push(formatNumber(d.dose_value));
    if (d.dose_unit) head.push(unitWord(codes, d.dose_unit, isPlural(d.dose_value)));
  }
  const when = timing(codes, d);
  if (when) head.push(when);
  const parts = head.length ? [head.join(" ")] : [];
  if (d.route) parts.push(codeLabel(codes.routes, d.route).toLowerCase());
  if (d.duration_days) parts.push(t(isPlural(d.duration_days) ? "rx.for_days" : "rx.for_day", { n: d.duration_days }));
  let sentence = parts.join(", ");
  if (sentence) sentence = `${capital(sentence)}.`;
  const text = String(d.text || "").trim();
  return [sentence, text].filter(Boolean).join(" ");
}

/** "2 boîtes" / "2 boxes" (another unit is shown as written). */
export function quantityText(quantity, unit) {
  if (!unit || unit === "boîte") return t(isPlural(quantity) ? "rx.boxes" : "rx.box", { n: quantity });
  return `${quantity} ${unit}`;
}

function renewalsText(n) {
  if (!n) return t("rx.renewals.none");
  return t(n === 1 ? "rx.renewals.one" : "rx.renewals.n", { n });
}

/** "Non substituable" with its reason, as the prescriber wrote it. */
export function nonSubstitutable(line, codes) {
  if (!line.non_substitutable) return null;
  const reason = line.non_substitution_reason;
  return h("p", { class: "rx-mention" }, badge(t("rx.non_substitutable"), "warning"),
    reason ? ` ${codeLabel(codes?.non_substitution_reasons, reason) || reason} (${reason})` : "");
}

/** What was dispensed for a line: one sentence per dispensing (pharmacy, date, product, substitution). */
export function dispensesList(line, codes) {
  if (!line.dispenses?.length) return null;
  return h("ul", { class: "rx-dispenses" }, ...line.dispenses.map((d) => h("li", {},
    t("rx.dispense.item", {
      quantity: quantityText(d.quantity, line.quantity_unit), label: d.label, pharmacy: d.pharmacy,
      date: formatDateTime(d.handed_over_at),
    }),
    d.substitution_type
      ? h("span", { class: "muted" }, " ", t("rx.dispense.substitution", {
        type: codeLabel(codes?.substitution_types, d.substitution_type),
        reason: codeLabel(codes?.substitution_reasons, d.substitution_reason),
      }))
      : null)));
}

/** The description of one line: title, dosage, quantity, renewals, mention, status, dispensing. */
export function lineDetails(line, codes, { headingLevel = "h3", showStatus = true } = {}) {
  const dispensed = line.dispensed === null || line.dispensed === undefined
    ? null
    : t("rx.dispensed_of", { dispensed: line.dispensed, limit: line.limit });
  return [
    h(headingLevel, { class: "rx-line-title" }, t("rx.line.title", { n: line.position, label: line.label })),
    h("p", { class: "rx-dosage" }, dosageSentence(line, codes)),
    facts([
      [t("rx.quantity"), quantityText(line.quantity, line.quantity_unit)],
      [t("rx.renewals"), renewalsText(line.renewals)],
      [t("rx.dispensed"), dispensed],
    ]),
    nonSubstitutable(line, codes),
    showStatus && line.status ? h("p", {}, statusBadge(line.status)) : null,
    dispensesList(line, codes),
  ];
}

/**
 * A medication search: a search field, its results as buttons, the one chosen.
 * free: text typed without choosing is kept as an international name (INN).
 * Returns {box, input, chosen(), text(), focus()}; onChange(med|null) on every choice.
 */
export function medicationPicker({ id, label, hint, required = false, onChange } = {}) {
  const hintId = hint ? `${id}-hint` : null;
  const input = h("input", {
    id, name: id, type: "search", autocomplete: "off", spellcheck: "false", required,
    "aria-required": required ? "true" : null, maxlength: "200", enterkeyhint: "search",
    "aria-describedby": [hintId, `${id}-error`, `${id}-status`].filter(Boolean).join(" "),
    "aria-controls": `${id}-results`,
  });
  const searchButton = h("button", { type: "button", id: `${id}-search`, class: "btn btn-secondary" },
    t("rx.med.search"));
  // Says how many were found, then which one was chosen (a live region either way).
  const status = h("p", { id: `${id}-status`, class: "med-status", role: "status" });
  const results = h("ul", { id: `${id}-results`, class: "choice-list", hidden: true });
  let chosen = null;
  let seq = 0;
  let timer = null;

  function choose(med) {
    chosen = med;
    input.value = med ? med.label : input.value;
    results.hidden = true;
    results.replaceChildren();
    status.classList.toggle("med-chosen", Boolean(med));
    if (med) status.replaceChildren(icon("check"), h("span", {}, t("rx.med.chosen", { label: med.label })));
    else status.textContent = "";
    onChange?.(med);
  }

  async function search() {
    clearTimeout(timer);
    const q = input.value.trim();
    status.classList.remove("med-chosen");
    if (q.length < 2) {
      results.hidden = true;
      status.textContent = q ? t("rx.med.too_short") : "";
      return;
    }
    const mine = ++seq;
    let found;
    try {
      found = await api.get(`/api/medications?q=${encodeURIComponent(q.slice(0, 60))}`);
    } catch (err) {
      if (mine === seq) status.textContent = err.detail || t("error.generic", { status: err.status });
      return;
    }
    if (mine !== seq) return;
    results.replaceChildren(...found.map((med) => h("li", {},
      h("button", { type: "button", class: "btn btn-choice", onclick: () => { choose(med); input.focus(); } },
        h("span", { class: "choice-label" }, med.label),
        med.inn ? h("span", { class: "choice-desc" }, med.inn) : null))));
    results.hidden = !found.length;
    status.textContent = found.length
      ? t(found.length === 1 ? "rx.med.found.one" : "rx.med.found", { count: found.length })
      : t("rx.med.none");
  }

  input.addEventListener("input", () => {
    if (chosen && input.value !== chosen.label) choose(null);
    clearTimeout(timer);
    timer = setTimeout(search, 300);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault(); // search; never submit the form from here
      search();
    }
  });
  searchButton.addEventListener("click", () => search());

  const box = h("div", { class: "field med-picker" },
    h("label", { for: id, class: "field-label" }, label),
    hint ? h("p", { id: hintId, class: "field-hint" }, hint) : null,
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
    h("div", { class: "search-row" }, input, searchButton),
    status, results);
  return {
    box,
    input,
    chosen: () => chosen,
    text: () => input.value.trim(),
    focus: () => input.focus(),
  };
}

// --- the list --------------------------------------------------------------------------------

function rxItem(rx) {
  const [first, ...others] = rx.lines;
  return h("li", { class: "list-item rx-item", "data-id": rx.id },
    h("span", { class: "doc-icon" }, icon("pill")),
    h("div", { class: "list-main" },
      h("p", { class: "list-title" },
        h("a", { href: `#/prescriptions/${encodeURIComponent(rx.id)}`, class: "rx-link" },
          t("rx.title", { date: formatDate(rx.authored_on) }))),
      h("p", { class: "muted" }, rx.prescriber.structure
        ? t("rx.by_at", { name: rx.prescriber.name, structure: rx.prescriber.structure })
        : t("rx.by", { name: rx.prescriber.name })),
      first ? h("p", { class: "muted" }, others.length
        ? t(others.length === 1 ? "rx.meds.more.one" : "rx.meds.more", { label: first.label, count: others.length })
        : first.label) : null,
      h("p", {}, statusBadge(rx.status === "cancelled" ? "cancelled" : rx.summary))));
}

function noAccess(title, profile) {
  return h("div", { class: "view" },
    heading(title),
    h("div", { class: "notice notice-warning", id: "rx-no-access" },
      h("p", {}, t("rx.no_access", { name: profileName(profile) }))),
    h("p", {}, h("a", { href: "#/home", class: "link-arrow" }, t("notfound.home"))));
}

async function renderList(ctx) {
  const profile = ctx.profile();
  if (!profile) return h("div", { class: "view" }, heading(t("rx.list.self")));
  const title = profile.relation === "self" ? t("rx.list.self") : t("rx.list.other", { name: profileName(profile) });
  let first;
  try {
    first = await api.get(`/api/profiles/${profile.id}/prescriptions?page_size=${PAGE_SIZE}`);
  } catch (err) {
    if (err.status === 404) return noAccess(title, profile);
    throw err;
  }
  const listTitle = h("h2", { id: "rx-list-title", tabindex: "-1" }, t("rx.list.heading"));
  const count = h("p", { id: "rx-count", class: "muted", role: "status" });
  const listBox = h("div", { id: "rx-list" });

  function fill(result) {
    count.textContent = result.total
      ? t(result.total === 1 ? "rx.count.one" : "rx.count", { count: result.total })
      : "";
    listBox.replaceChildren(...[
      result.items.length
        ? h("ul", { class: "list prescriptions" }, ...result.items.map(rxItem))
        : h("p", { class: "muted", id: "rx-empty" }, t("rx.list.empty")),
      pager(result, (page) => load(page), t("rx.pager")),
    ].filter(Boolean));
  }
  async function load(page) {
    fill(await api.get(`/api/profiles/${profile.id}/prescriptions?page=${page}&page_size=${PAGE_SIZE}`));
    listTitle.focus();
  }
  fill(first);

  return h("div", { class: "view" },
    heading(title),
    h("p", { class: "lead" }, t("rx.list.intro")),
    h("section", { class: "section panel", "aria-labelledby": "rx-list-title" }, listTitle, count, listBox));
}

// --- one prescription ----------------------------------------------------------------------

/** "Show at the counter": the QR code and the number, full screen, on white. */
function qrDialog(ctx, rx) {
  const opener = h("button", { type: "button", id: "rx-qr-open", class: "btn btn-primary" },
    icon("qr"), t("rx.qr.open"));
  let wakeLock = null;
  let leave = null;
  // Leaving the screen (the back button) closes it too.
  ctx.onLeave(() => leave?.());
  opener.addEventListener("click", async () => {
    const close = h("button", { type: "button", id: "rx-qr-close", class: "btn btn-primary" }, t("rx.qr.close"));
    const image = h("img", {
      src: rx.qr, class: "qr-full", id: "rx-qr-image", width: "320", height: "320",
      alt: t("rx.qr.alt", { number: groupNumber(rx.number) }),
    });
    const dialog = h("dialog", {
      class: "qr-dialog", id: "rx-qr-dialog", "aria-labelledby": "rx-qr-title", "aria-describedby": "rx-qr-hint",
    },
      h("h2", { id: "rx-qr-title" }, t("rx.qr.title")),
      image,
      h("p", { class: "rx-number", id: "rx-qr-number" }, groupNumber(rx.number)),
      h("p", { id: "rx-qr-hint", class: "qr-hint" }, t("rx.qr.hint")),
      close);
    leave = () => {
      wakeLock?.release().catch(() => {});
      wakeLock = null;
      if (dialog.open) dialog.close();
      dialog.remove();
      leave = null;
    };
    const shut = () => {
      leave?.();
      opener.focus();
    };
    close.addEventListener("click", shut);
    // Escape closes the dialog ("cancel"): the focus goes back to the button.
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      shut();
    });
    document.body.append(dialog);
    dialog.showModal();
    close.focus();
    try {
      const lock = await navigator.wakeLock?.request("screen"); // the screen stays on at the counter
      if (dialog.isConnected) wakeLock = lock;
      else lock?.release().catch(() => {});
    } catch {
      /* no wake lock: the screen may dim, the code stays shown */
    }
  });
  return opener;
}

/**
 * The pharmacies to offer before any search (items shaped like those of
 * GET /api/pharmacies): the profile's "ma pharmacie" when one was chosen
 * (GET /api/profiles/<id>/my-pharmacy). Nothing when none was chosen, or when
 * the server does not keep that preference: the search is there anyway.
 */
async function preferredPharmacies(personId) {
  try {
    const mine = await api.get(`/api/profiles/${encodeURIComponent(personId)}/my-pharmacy`);
    return mine?.pharmacy ? [mine.pharmacy] : [];
  } catch {
    return [];
  }
}

function pharmacyChoice(p, index) {
  const id = `rx-pharmacy-${index}`;
  const where = [p.address, [p.postcode, p.commune].filter(Boolean).join(" ")].filter(Boolean).join(", ");
  return h("li", { class: "pharmacy-option" },
    h("div", { class: "checkbox" },
      h("input", {
        type: "radio", id, name: "rx-pharmacy", value: p.id, "data-name": p.name,
        "aria-describedby": `${id}-desc rx-pharmacy-error`,
      }),
      h("label", { for: id }, p.name)),
    h("p", { id: `${id}-desc`, class: "muted pharmacy-desc" },
      where, p.opening_hours ? h("span", { class: "pharmacy-hours" }, ` — ${p.opening_hours}`) : null));
}

async function sendSection(rx) {
  const alert = alertBox("rx-send-alert");
  const done = h("div", { id: "rx-send-done", role: "status" });
  const qField = field({
    id: "rx-pharmacy-q", label: t("rx.send.search"), hint: t("rx.send.search.hint"), type: "search",
    autocomplete: "off", attrs: { maxlength: "100", enterkeyhint: "search" },
  });
  const q = qField.querySelector("input");
  const searchButton = h("button", { type: "submit", class: "btn btn-secondary", id: "rx-pharmacy-search" },
    t("rx.send.search.submit"));
  const searchForm = h("form", { id: "rx-pharmacy-form", class: "form", role: "search", novalidate: true },
    qField, h("div", { class: "actions" }, searchButton));
  const found = h("p", { id: "rx-pharmacy-count", class: "muted", role: "status" });
  const choices = h("ul", { class: "choice-list pharmacies", id: "rx-pharmacy-list" });
  const groupError = h("p", { id: "rx-pharmacy-error", class: "field-error", hidden: true });
  const group = h("fieldset", { class: "fieldset", id: "rx-pharmacy-group", hidden: true },
    h("legend", {}, t("rx.send.choose")), groupError, choices);
  const noteField = field({
    id: "rx-send-note", label: t("rx.send.note"), hint: t("rx.send.note.hint"), multiline: true, optional: true,
    attrs: { rows: "2", maxlength: "500" },
  });
  const note = noteField.querySelector("textarea");
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "rx-send-submit" },
    icon("send"), t("rx.send.submit"));
  const sendForm = h("form", { id: "rx-send-form", class: "form", novalidate: true },
    alert, group, noteField, submit);

  function show(list, preferred = false) {
    choices.replaceChildren(...list.map(pharmacyChoice));
    group.hidden = !list.length;
    group.querySelector("legend").textContent = preferred ? t("rx.send.preferred") : t("rx.send.choose");
    if (list.length === 1) choices.querySelector("input").checked = true;
  }

  const preferred = await preferredPharmacies(rx.person_id);
  show(preferred, true);

  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(searchForm);
    const words = q.value.trim();
    if (words.length < 2) {
      errorSummary(alert, [{ control: q, message: t("rx.send.search.short") }]);
      q.focus();
      return;
    }
    await busy(searchButton, async () => {
      try {
        const out = await api.get(`/api/pharmacies?q=${encodeURIComponent(words)}`);
        show(out.items);
        found.textContent = out.items.length
          ? t(out.items.length === 1 ? "rx.send.found.one" : "rx.send.found", { count: out.items.length })
          : t("rx.send.none");
        alert.replaceChildren();
      } catch (err) {
        showError(alert, err, searchForm, { q: "rx-pharmacy-q" });
      }
    });
  });

  sendForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(sendForm);
    done.replaceChildren();
    const picked = choices.querySelector("input:checked");
    if (!picked) {
      const first = choices.querySelector("input") || q;
      return errorSummary(alert, [{
        control: first, message: t(choices.children.length ? "rx.send.pick" : "rx.send.search_first"),
        errorEl: choices.children.length ? groupError : null,
      }]);
    }
    await busy(submit, async () => {
      try {
        const text = note.value.trim();
        const thread = await api.post(`/api/prescriptions/${encodeURIComponent(rx.id)}/send`,
          { structure_id: picked.value, ...(text ? { note: text } : {}) });
        note.value = "";
        const message = h("p", { id: "rx-send-success", tabindex: "-1" },
          t("rx.send.done", { pharmacy: picked.dataset.name }));
        // The conversation the message started: the pharmacy's answer comes there.
        const link = thread?.id
          ? h("p", {}, h("a", { href: `#/messages/${encodeURIComponent(thread.id)}`, class: "link-arrow", id: "rx-send-thread" },
            t("rx.send.thread")))
          : null;
        done.replaceChildren(h("div", { class: "notice notice-success" }, message, link));
        message.focus();
      } catch (err) {
        const first = showError(alert, err.status === 404 ? { detail: t("rx.send.not_allowed") } : err, sendForm,
          { note: "rx-send-note", structure_id: picked.id });
        (first || picked).focus();
      }
    });
    return true;
  });

  return h("section", { class: "section panel", id: "rx-send", "aria-labelledby": "rx-send-title" },
    h("h2", { id: "rx-send-title", tabindex: "-1" }, t("rx.send.title")),
    h("p", { class: "muted" }, t("rx.send.intro")),
    searchForm, found, sendForm, done);
}

async function renderOne(ctx, id) {
  let rx;
  let codes = null;
  try {
    [rx, codes] = await Promise.all([
      api.get(`/api/prescriptions/${encodeURIComponent(id)}`),
      loadCodes().catch(() => null),
    ]);
  } catch (err) {
    if (err.status !== 404 && err.status !== 400) throw err;
    return h("div", { class: "view" },
      heading(t("rx.one")),
      h("div", { class: "notice notice-error" }, h("p", {}, t("rx.not_found"))),
      h("p", {}, h("a", { href: "#/prescriptions", class: "link-back" }, t("rx.back"))));
  }
  const summary = rx.status === "cancelled" ? "cancelled" : rx.summary;
  const usable = rx.status === "active" && OPEN_STATUSES.includes(summary);
  const pdf = rx.document_id
    ? h("a", {
      href: `/api/documents/${encodeURIComponent(rx.document_id)}/content`, target: "_blank", rel: "noopener",
      class: "btn btn-secondary", id: "rx-pdf",
    }, icon("doc"), t("rx.pdf"))
    : null;
  const prescriber = [rx.prescriber.name, rx.prescriber.profession].filter(Boolean).join(", ");

  return h("div", { class: "view" },
    h("p", {}, h("a", { href: "#/prescriptions", class: "link-back" }, t("rx.back"))),
    heading(t("rx.title", { date: formatDate(rx.authored_on) })),
    h("p", { id: "rx-summary" }, statusBadge(summary)),
    h("section", { class: "section panel", "aria-labelledby": "rx-details-title" },
      h("h2", { id: "rx-details-title" }, t("rx.details")),
      facts([
        [t("rx.prescriber"), prescriber],
        [t("rx.structure"), rx.prescriber.structure],
        [t("rx.authored_on"), formatDate(rx.authored_on)],
        [t("rx.number"), h("span", { class: "rx-number-inline" }, groupNumber(rx.number))],
        [t("rx.first_dispense_by"), formatDate(rx.first_dispense_by)],
        [t("rx.treatment_end"), formatDate(rx.treatment_end)],
        [t("rx.weight"), rx.patient_weight_kg ? t("rx.weight.kg", { kg: formatNumber(rx.patient_weight_kg) }) : null],
      ]),
      h("p", { class: "muted" }, t(rx.dispensing_visible ? "rx.consent.yes" : "rx.consent.no")),
      h("div", { class: "actions" }, usable && rx.qr ? qrDialog(ctx, rx) : null, pdf),
      usable ? h("p", { class: "muted" }, t("rx.qr.explain")) : null),
    h("section", { class: "section panel", "aria-labelledby": "rx-lines-title" },
      h("h2", { id: "rx-lines-title" }, t("rx.lines")),
      h("ol", { class: "rx-lines" }, ...rx.lines.map((line) => h("li", { class: "rx-line", "data-id": line.id },
        ...lineDetails(line, codes))))),
    usable ? await sendSection(rx) : null);
}

export async function render(ctx) {
  if (ctx.params[0]) return renderOne(ctx, ctx.params[0]);
  return renderList(ctx);
}
