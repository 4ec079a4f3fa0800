// Credential registration forms shared by activation and security settings:
// a passkey, or a password followed by the TOTP confirmation.

import { api } from "../api.js";
import {
  alertBox, busy, clearErrors, field, h, holdFor, icon, invalid, showError,
} from "../dom.js";
import { t } from "../i18n.js";
import { createPasskey, passkeysSupported, webauthnMessage } from "../webauthn.js";

function isWebAuthnError(err) {
  return err instanceof DOMException || ["NotAllowedError", "InvalidStateError", "SecurityError",
    "AbortError", "NotSupportedError", "UnknownError"].includes(err?.name);
}

/**
 * Passkey registration form (input #passkey-label, submit button).
 * Resolves onDone() once the server has saved the passkey.
 */
export function passkeyForm({ buttonText, onDone }) {
  const alert = alertBox("passkey-alert");
  const labelField = field({
    id: "passkey-label",
    label: t("enroll.passkey.label"),
    hint: t("enroll.passkey.label.hint"),
    optional: true,
    autocomplete: "off",
    attrs: { maxlength: "100" },
  });
  const button = h("button", { type: "submit", class: "btn btn-primary" }, icon("key"), buttonText);
  const form = h("form", { id: "passkey-form", class: "form", novalidate: true }, alert, labelField, button);
  const input = labelField.querySelector("input");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!passkeysSupported()) {
      showError(alert, { detail: t("error.webauthn_unsupported") });
      return;
    }
    await busy(button, async () => {
      try {
        const { challenge_id: challengeId, options } = await api.post("/api/credentials/passkeys/options");
        const credential = await createPasskey(options);
        const label = input.value.trim() || t("enroll.passkey.default_label");
        await api.post("/api/credentials/passkeys", { challenge_id: challengeId, label, credential });
        form.reset();
        await onDone();
      } catch (err) {
        showError(alert, isWebAuthnError(err) ? { detail: webauthnMessage(err) } : err);
      }
    });
  });
  return form;
}

/**
 * Password then TOTP enrolment: #password, #password-confirm, then the QR code
 * and #totp-code. Resolves onDone() once the TOTP code is confirmed.
 */
export function passwordForms({ onDone, headingLevel = "h3" }) {
  const wrap = h("div", { class: "password-enrol" });
  const alert = alertBox("password-alert");
  const pw = field({
    id: "password",
    label: t("enroll.password.label"),
    hint: t("enroll.password.hint"),
    type: "password",
    required: true,
    autocomplete: "new-password",
    attrs: { minlength: "12", maxlength: "256" },
  });
  const confirm = field({
    id: "password-confirm",
    label: t("enroll.password.confirm"),
    type: "password",
    required: true,
    autocomplete: "new-password",
    attrs: { maxlength: "256" },
  });
  const submit = h("button", { type: "submit", class: "btn btn-secondary" }, t("enroll.password.submit"));
  const form = h("form", { id: "password-form", class: "form", novalidate: true }, alert, pw, confirm, submit);
  wrap.append(form);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const p1 = pw.querySelector("input");
    const p2 = confirm.querySelector("input");
    if (p1.value.length < 12) return invalid(alert, p1, t("error.password_length"));
    if (p1.value !== p2.value) return invalid(alert, p2, t("error.password_match"));
    await busy(submit, async () => {
      try {
        const enrolment = await api.post("/api/credentials/password", { password: p1.value });
        form.remove();
        const step = totpForm(enrolment, { onDone, headingLevel });
        wrap.append(step);
        step.querySelector(".step-title").focus();
      } catch (err) {
        const first = showError(alert, err, form, { password: "password" });
        (first || p1).focus();
      }
    });
    return true;
  });
  return wrap;
}

function groupSecret(secret) {
  return String(secret).replace(/(.{4})/g, "$1 ").trim();
}

function totpForm(enrolment, { onDone, headingLevel }) {
  const alert = alertBox("totp-alert");
  const code = field({
    id: "totp-code",
    label: t("enroll.totp.code"),
    required: true,
    autocomplete: "one-time-code",
    inputmode: "numeric",
    attrs: { maxlength: "6", pattern: "[0-9]{6}" },
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("enroll.totp.submit"));
  const form = h("form", { id: "totp-form", class: "form", novalidate: true }, alert, code, submit);
  const input = code.querySelector("input");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = input.value.replace(/\s/g, "");
    if (!/^\d{6}$/.test(value)) return invalid(alert, input, t("error.totp_format"));
    await busy(submit, async () => {
      try {
        await api.post("/api/credentials/totp/confirm", { code: value });
        await onDone();
      } catch (err) {
        showError(alert, err, form, { code: "totp-code" });
        holdFor(submit, err);
        input.select();
        input.focus();
      }
    });
    return true;
  });

  return h("section", { class: "totp-step", "aria-labelledby": "totp-step-title" },
    h(headingLevel, { id: "totp-step-title", class: "step-title", tabindex: "-1" }, t("enroll.totp.title")),
    h("p", {}, t("enroll.totp.intro")),
    h("div", { class: "qr-box" },
      h("img", { src: enrolment.qr, alt: t("enroll.totp.qr_alt"), class: "qr", width: "220", height: "220" })),
    h("p", {}, t("enroll.totp.secret"), " ",
      h("code", { class: "secret", id: "totp-secret" }, groupSecret(enrolment.totp_secret))),
    h("p", {}, h("a", { href: enrolment.otpauth_uri, id: "totp-app-link" }, t("enroll.totp.open_app"))),
    form);
}

/**
 * Step 2 of an activation (citizen or professional): the first credential, a passkey or a
 * password with its TOTP code. ``id`` names the step's focusable title.
 */
export function enrolmentStep({ id, title, intro, onDone }) {
  return h("section", { class: "step", "aria-labelledby": id },
    h("h2", { id, class: "step-title", tabindex: "-1" }, title),
    h("p", {}, intro),
    h("section", { class: "panel", "aria-labelledby": "enrol-passkey-title" },
      h("h3", { id: "enrol-passkey-title" }, t("enroll.passkey.title")),
      h("p", { class: "muted" }, t("enroll.passkey.intro")),
      passkeyForm({ buttonText: t("enroll.passkey.create"), onDone })),
    h("section", { class: "panel", "aria-labelledby": "enrol-password-title" },
      h("h3", { id: "enrol-password-title" }, t("enroll.password.title")),
      h("p", { class: "muted" }, t("enroll.password.intro")),
      passwordForms({ onDone, headingLevel: "h4" })));
}
