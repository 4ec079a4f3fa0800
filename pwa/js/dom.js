// Small DOM helpers. Content is always set as text (never parsed as HTML)
// and no style attribute is ever written (strict CSP).

import { t } from "./i18n.js";

/**
 * Create an element: h("p", {class: "x", id: "y", onclick: fn}, "text", child).
 * Attributes set to false/null/undefined are skipped; true sets an empty attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "style") throw new Error("style attributes are not allowed");
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const ICONS = {
  home: "M3 10.5 12 3l9 7.5V20a1 1 0 0 1-1 1h-5v-6H9v6H4a1 1 0 0 1-1-1z",
  card: "M3 6a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2zm2 3h14M7 15h5",
  people: "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 10a7 7 0 0 1 14 0M17 11a3 3 0 1 0 0-6M22 21a6 6 0 0 0-4-5.6",
  shield: "M12 3 4 6v6c0 5 3.5 8 8 9 4.5-1 8-4 8-9V6zm-3 9 2 2 4-4",
  check: "M4 12l5 5L20 6",
  key: "M8 11a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm2.8 1.2L20 3m-3 3 2 2m-4 0 1.5 1.5",
  offline: "M2 8.5a15 15 0 0 1 20 0M5.5 12a10 10 0 0 1 13 0M9 15.5a5 5 0 0 1 6 0M12 19h.01M3 3l18 18",
  qr: "M4 4h6v6H4zM14 4h6v6h-6zM4 14h6v6H4zM14 14h2v2h-2zM18 18h2v2h-2zM14 18h2M18 14h2",
  chevron: "M9 6l6 6-6 6",
  logout: "M15 4h4a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1h-4M10 17l5-5-5-5M15 12H3",
  doc: "M6 3h8l5 5v12a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zm8 0v5h5M8 13h8M8 17h6",
  lock: "M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4",
  camera: "M4 7h3l2-3h6l2 3h3a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1zm8 10a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
  upload: "M12 16V4m-5 5 5-5 5 5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3",
  bell: "M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0",
  pill: "M10.5 20.5 20.5 10.5a4.95 4.95 0 1 0-7-7l-10 10a4.95 4.95 0 1 0 7 7zM8.5 8.5l7 7",
  send: "M22 2 11 13M22 2l-7 20-4-9-9-4z",
  mail: "M3 6h18v12H3zm0 1 9 6 9-6",
  more: "M4.5 12a1.5 1.5 0 1 0 3 0 1.5 1.5 0 1 0-3 0zm6 0a1.5 1.5 0 1 0 3 0 1.5 1.5 0 1 0-3 0zm6 0a1.5 1.5 0 1 0 3 0 1.5 1.5 0 1 0-3 0z",
  clip: "M21 11.5 12.5 20a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3L15 7.5",
};

/** A decorative line icon (hidden from assistive technologies). */
export function icon(name, extraClass = "") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `icon ${extraClass}`.trim());
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name] || ICONS.chevron);
  svg.append(path);
  return svg;
}

/** The view's main heading; focused on route changes. */
export function heading(text) {
  return h("h1", { tabindex: "-1", class: "view-title" }, text);
}

/** An initially empty alert area: filling it later is announced at once. */
export function alertBox(id) {
  return h("div", { id, class: "alert", role: "alert" });
}

/**
 * A labelled form field with an optional hint and a slot for its error, both
 * linked to the control with aria-describedby.
 */
export function field(opts) {
  const {
    id, label, type = "text", hint, required = false, autocomplete, inputmode,
    value, multiline = false, attrs = {}, optional = false,
  } = opts;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const control = h(multiline ? "textarea" : "input", {
    id,
    name: id,
    type: multiline ? null : type,
    required,
    "aria-required": required ? "true" : null,
    autocomplete,
    inputmode,
    "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
    ...attrs,
  });
  if (value !== undefined && value !== null) control.value = value;
  const labelEl = h("label", { for: id, class: "field-label" }, label,
    optional ? h("span", { class: "field-optional" }, ` (${t("common.optional")})`) : null);
  return h("div", { class: "field" },
    labelEl,
    hint ? h("p", { id: hintId, class: "field-hint" }, hint) : null,
    h("p", { id: errorId, class: "field-error", hidden: true }),
    control,
  );
}

export function setFieldError(control, message) {
  const err = document.getElementById(`${control.id}-error`);
  if (err) {
    err.textContent = message;
    err.hidden = false;
  }
  control.setAttribute("aria-invalid", "true");
}

export function clearErrors(scope) {
  if (!scope) return;
  for (const el of scope.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of scope.querySelectorAll(".field-error")) {
    el.textContent = "";
    el.hidden = true;
  }
  for (const el of scope.querySelectorAll(".alert")) el.replaceChildren();
}

/**
 * Show an API (or client) error: its detail in the alert area, and each field
 * error next to its control. fieldMap maps API field names to control ids.
 */
export function showError(alertEl, err, scope, fieldMap = {}) {
  const detail = err?.detail || err?.message || String(err);
  alertEl.replaceChildren(h("div", { class: "notice notice-error" }, h("p", { class: "alert-text" }, detail)));
  let first = null;
  for (const item of err?.errors || []) {
    const name = String(item.field || "").replace(/^\$\./, "");
    const id = fieldMap[name];
    const control = id && scope ? scope.querySelector(`#${id}`) : null;
    if (control) {
      setFieldError(control, item.message || detail);
      first = first || control;
    }
  }
  return first;
}

/**
 * Several client-side errors at once: each next to its control, and a summary
 * in the alert area whose links lead to the controls; the summary takes the
 * focus. problems: [{control, message, label?, errorEl?}] (label names the
 * field in the summary; errorEl is where the message goes when it is not
 * "<control id>-error", e.g. for a group of radio buttons). Returns false.
 */
export function errorSummary(alertEl, problems) {
  for (const { control, message, errorEl } of problems) {
    if (errorEl) {
      errorEl.textContent = message;
      errorEl.hidden = false;
      control.setAttribute("aria-invalid", "true");
    } else setFieldError(control, message);
  }
  const count = problems.length;
  const box = h("div", { class: "notice notice-error error-summary", tabindex: "-1" },
    h("p", { class: "alert-text" }, t(count === 1 ? "form.errors.one" : "form.errors", { count })),
    h("ul", {}, ...problems.map(({ control, message, label }) => h("li", {},
      h("a", {
        href: `#${control.id}`,
        onclick: (event) => {
          event.preventDefault(); // a bare "#id" would leave the hash route
          control.focus();
        },
      }, label ? t("form.errors.item", { label, message }) : message)))));
  alertEl.replaceChildren(box);
  box.focus();
  return false;
}

/** Client-side validation failure on one control: message, alert, focus. */
export function invalid(alertEl, control, message) {
  setFieldError(control, message);
  alertEl.replaceChildren(h("div", { class: "notice notice-error" }, h("p", { class: "alert-text" }, message)));
  control.focus();
  return false;
}

/** Disable a button while an async action runs; restore afterwards. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Keep a submit button disabled for the Retry-After delay of a 429 answer. */
export function holdFor(button, err) {
  if (!err || err.status !== 429 || !err.retryAfter) return;
  const seconds = Math.min(err.retryAfter, 900);
  button.disabled = true;
  setTimeout(() => { button.disabled = false; }, seconds * 1000);
}

/**
 * A button that asks for confirmation inline before running action();
 * errors of the action are shown next to it. cancelText names the button that
 * steps back ("Annuler" unless that would read as the action itself).
 */
export function confirmAction({ label, ariaLabel, question, confirmText, action, id, cancelText }) {
  const alert = alertBox("");
  alert.removeAttribute("id");
  const open = h("button", { type: "button", id, class: "btn btn-danger-quiet", "aria-label": ariaLabel }, label);
  const yes = h("button", { type: "button", class: "btn btn-danger" }, confirmText);
  const no = h("button", { type: "button", class: "btn btn-quiet" }, cancelText || t("common.cancel"));
  const box = h("div", { class: "confirm", hidden: true }, h("p", {}, question), h("div", { class: "actions" }, yes, no));
  open.addEventListener("click", () => {
    box.hidden = false;
    open.hidden = true;
    yes.focus();
  });
  no.addEventListener("click", () => {
    box.hidden = true;
    open.hidden = false;
    open.focus();
  });
  yes.addEventListener("click", () => busy(yes, async () => {
    try {
      await action();
    } catch (err) {
      showError(alert, err);
    }
  }));
  return h("div", { class: "list-actions" }, open, box, alert);
}

/** A definition list from [label, value] pairs (empty values skipped). */
export function facts(pairs, extraClass = "") {
  const dl = h("dl", { class: `facts ${extraClass}`.trim() });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value)));
  }
  return dl;
}

export function badge(text, tone = "neutral") {
  return h("span", { class: `badge badge-${tone}` }, text);
}
