// "Confirmez votre identité": a modal dialog asked for by the API before a
// sensitive change (password, second factor, passkeys, delegations, closing
// the space). Password + code, or a passkey; resolves true once proven.

import { api } from "./api.js";
import { alertBox, busy, clearErrors, field, h, invalid, showError } from "./dom.js";
import { t } from "./i18n.js";
import { getPasskey, passkeysSupported, webauthnMessage } from "./webauthn.js";

let pending = null;

/** Ask the person to prove it is them; one dialog at a time. Resolves true when proven. */
export function confirmIdentity() {
  if (!pending) pending = open().finally(() => { pending = null; });
  return pending;
}

function open() {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const alert = alertBox("reauth-alert");
    const password = field({ id: "reauth-password", label: t("reauth.password"), type: "password",
      required: true, autocomplete: "current-password" });
    const code = field({ id: "reauth-code", label: t("reauth.code"), required: true, inputmode: "numeric",
      autocomplete: "one-time-code", attrs: { maxlength: 6, pattern: "\\d{6}" } });
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("reauth.submit"));
    const cancel = h("button", { type: "button", class: "btn btn-secondary" }, t("common.cancel"));
    const withKey = passkeysSupported()
      ? h("button", { type: "button", class: "btn btn-secondary", id: "reauth-passkey" }, t("reauth.passkey"))
      : null;
    const form = h("form", { class: "form", novalidate: true, method: "dialog" },
      alert, password, code, h("div", { class: "actions" }, submit, withKey, cancel));
    const dialog = h("dialog", { class: "dialog", id: "reauth-dialog", "aria-labelledby": "reauth-title",
      "aria-describedby": "reauth-intro" },
      h("h2", { id: "reauth-title" }, t("reauth.title")),
      h("p", { id: "reauth-intro" }, t("reauth.intro")),
      form);

    function close(result) {
      dialog.close();
      dialog.remove();
      if (opener && typeof opener.focus === "function") opener.focus();
      resolve(result);
    }

    cancel.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(false); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const pw = password.querySelector("input");
      const digits = code.querySelector("input");
      if (!pw.value) return invalid(alert, pw, t("reauth.password.required"));
      if (!/^\d{6}$/.test(digits.value)) return invalid(alert, digits, t("reauth.code.invalid"));
      await busy(submit, async () => {
        try {
          await api.post("/api/auth/reauth", { password: pw.value, code: digits.value }, { auth: false });
          close(true);
        } catch (err) {
          showError(alert, err, form);
        }
      });
      return true;
    });
    withKey?.addEventListener("click", async () => {
      clearErrors(form);
      await busy(withKey, async () => {
        try {
          const opts = await api.post("/api/auth/reauth/passkey/options");
          const credential = await getPasskey(opts.options);
          await api.post("/api/auth/reauth/passkey", { challenge_id: opts.challenge_id, credential },
            { auth: false });
          close(true);
        } catch (err) {
          showError(alert, err?.name ? { detail: webauthnMessage(err) } : err, form);
        }
      });
    });

    document.body.append(dialog);
    dialog.showModal();
    password.querySelector("input").focus();
  });
}
