// #/login: passkey, or identifier + password then the TOTP code.

import { api } from "../api.js";
import {
  alertBox, busy, clearErrors, field, h, heading, holdFor, icon, invalid, showError,
} from "../dom.js";
import { t } from "../i18n.js";
import { current } from "../router.js";
import { getPasskey, passkeysSupported, webauthnMessage } from "../webauthn.js";

// True between the accepted password and the TOTP code, so that a re-render
// (language switch) stays on the code step.
let awaitingCode = false;

export async function render(ctx) {
  ctx.onLeave(() => {
    if (current().name !== "login") awaitingCode = false;
  });
  const alert = alertBox("login-alert");

  // Passkey ----------------------------------------------------------------
  const passkeyButton = h("button", { type: "button", id: "passkey-login", class: "btn btn-primary btn-block" },
    icon("key"), t("login.passkey.button"));
  passkeyButton.addEventListener("click", async () => {
    clearErrors(view);
    if (!passkeysSupported()) {
      showError(alert, { detail: t("error.webauthn_unsupported") });
      return;
    }
    await busy(passkeyButton, async () => {
      try {
        const { challenge_id: challengeId, options } = await api.post("/api/auth/passkey/options", {}, { auth: false });
        const credential = await getPasskey(options);
        await api.post("/api/auth/passkey/login", { challenge_id: challengeId, credential }, { auth: false });
        await ctx.loggedIn();
      } catch (err) {
        if (err instanceof DOMException) showError(alert, { detail: webauthnMessage(err) });
        else {
          showError(alert, err);
          holdFor(passkeyButton, err);
        }
      }
    });
  });

  // Password, first factor -------------------------------------------------
  const proToggle = h("input", { type: "checkbox", id: "pro-toggle", name: "pro-toggle" });
  const identifierField = field({
    id: "identifier",
    label: t("login.identifier.nir"),
    hint: t("login.identifier.nir.hint"),
    required: true,
    autocomplete: "username",
    attrs: { maxlength: "25", spellcheck: "false", autocapitalize: "characters" },
  });
  const identifier = identifierField.querySelector("input");
  const passwordField = field({
    id: "password",
    label: t("login.password"),
    type: "password",
    required: true,
    autocomplete: "current-password",
    attrs: { maxlength: "256" },
  });
  const password = passwordField.querySelector("input");
  const submit = h("button", { type: "submit", class: "btn btn-secondary" }, t("login.submit"));
  const form = h("form", { id: "login-form", class: "form", novalidate: true },
    h("div", { class: "checkbox" }, proToggle, h("label", { for: "pro-toggle" }, t("login.pro_toggle"))),
    identifierField, passwordField, submit);

  function syncKind() {
    const pro = proToggle.checked;
    identifierField.querySelector("label").textContent = t(pro ? "login.identifier.rpps" : "login.identifier.nir");
    identifierField.querySelector(".field-hint").textContent =
      t(pro ? "login.identifier.rpps.hint" : "login.identifier.nir.hint");
    identifier.setAttribute("inputmode", pro ? "numeric" : "text");
  }
  proToggle.addEventListener("change", syncKind);

  // Password, second factor ------------------------------------------------
  const totpField = field({
    id: "totp-code",
    label: t("login.totp.label"),
    hint: t("login.totp.hint"),
    required: true,
    autocomplete: "one-time-code",
    inputmode: "numeric",
    attrs: { maxlength: "6", pattern: "[0-9]{6}" },
  });
  const totp = totpField.querySelector("input");
  totp.setAttribute("aria-describedby", `totp-intro ${totp.getAttribute("aria-describedby")}`);
  const totpSubmit = h("button", { type: "submit", class: "btn btn-primary" }, t("login.totp.submit"));
  const restart = h("button", { type: "button", class: "btn btn-quiet" }, t("login.totp.restart"));
  const totpTitle = h("h2", { id: "totp-title", tabindex: "-1" }, t("login.totp.title"));
  const totpForm = h("form", { id: "totp-form", class: "form", novalidate: true },
    h("p", { id: "totp-intro" }, t("login.totp.intro")), totpField,
    h("div", { class: "actions" }, totpSubmit, restart));
  const totpSection = h("section", { class: "panel", "aria-labelledby": "totp-title", hidden: true },
    totpTitle, totpForm);

  const passwordSection = h("section", { class: "panel", "aria-labelledby": "password-title" },
    h("h2", { id: "password-title" }, t("login.password.title")), form);
  const passkeySection = h("section", { class: "panel", "aria-labelledby": "passkey-title" },
    h("h2", { id: "passkey-title" }, t("login.passkey.title")),
    h("p", { class: "muted" }, t("login.passkey.hint")),
    passkeyButton);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(view);
    const id = identifier.value.replace(/\s/g, "");
    if (!id) return invalid(alert, identifier, t("error.required"));
    if (!password.value) return invalid(alert, password, t("error.required"));
    await busy(submit, async () => {
      try {
        await api.post("/api/auth/login",
          { identifier: id, password: password.value, kind: proToggle.checked ? "pro" : "citizen" },
          { auth: false });
        password.value = "";
        showCodeStep();
        totp.focus();
      } catch (err) {
        showError(alert, err, form, { identifier: "identifier", password: "password" });
        holdFor(submit, err);
        password.focus();
      }
    });
    return true;
  });

  totpForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(view);
    const code = totp.value.replace(/\s/g, "");
    if (!/^\d{6}$/.test(code)) return invalid(alert, totp, t("error.totp_format"));
    await busy(totpSubmit, async () => {
      try {
        await api.post("/api/auth/login/totp", { code }, { auth: false });
        awaitingCode = false;
        await ctx.loggedIn();
      } catch (err) {
        showError(alert, err, totpForm, { code: "totp-code" });
        holdFor(totpSubmit, err);
        totp.select();
        totp.focus();
      }
    });
    return true;
  });

  function showCodeStep() {
    awaitingCode = true;
    passkeySection.hidden = true;
    passwordSection.hidden = true;
    totpSection.hidden = false;
  }

  restart.addEventListener("click", () => {
    clearErrors(view);
    awaitingCode = false;
    totp.value = "";
    totpSection.hidden = true;
    passkeySection.hidden = false;
    passwordSection.hidden = false;
    identifier.focus();
  });
  if (awaitingCode) showCodeStep();

  const view = h("div", { class: "view view-narrow" },
    heading(t("login.title")),
    h("p", { class: "lead" }, t("login.intro")),
    alert,
    passkeySection,
    passwordSection,
    totpSection,
    h("p", { class: "aside" }, t("login.first_time"), " ",
      h("a", { href: "#/activate" }, t("login.activate_link"))),
    h("p", { class: "aside" }, h("a", { href: "#/pro-activate" }, t("login.pro_activate_link"))));
  return view;
}
