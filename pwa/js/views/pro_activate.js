// #/pro-activate: a health professional's first login: RPPS + the activation
// code issued with the directory entry, then the first credential (as the
// citizen's activation does).

import { api } from "../api.js";
import {
  alertBox, busy, clearErrors, field, h, heading, holdFor, invalid, showError,
} from "../dom.js";
import { t } from "../i18n.js";
import { current } from "../router.js";
import { enrolmentStep } from "./enroll.js";

// Survives a re-render (language switch) while the enrolment session lasts.
let enrolling = false;

export async function render(ctx) {
  ctx.onLeave(() => {
    if (current().name !== "pro-activate") enrolling = false;
  });
  const view = h("div", { class: "view view-narrow" },
    heading(t("pro_activate.title")),
    h("p", { class: "lead" }, t("pro_activate.intro")));

  const done = () => ctx.loggedIn(t("pro_activate.done"));

  const stepTwo = () => enrolmentStep({
    id: "pro-step2-title", title: t("pro_activate.step2"), intro: t("pro_activate.step2.intro"), onDone: done,
  });

  if (enrolling) {
    view.append(stepTwo());
    return view;
  }

  const alert = alertBox("pro-activation-alert");
  const rppsField = field({
    id: "pro-rpps",
    label: t("pro_activate.rpps"),
    hint: t("pro_activate.rpps.hint"),
    required: true,
    autocomplete: "username",
    inputmode: "numeric",
    attrs: { maxlength: "20", spellcheck: "false" },
  });
  const codeField = field({
    id: "pro-activation-code",
    label: t("pro_activate.code"),
    hint: t("pro_activate.code.hint"),
    required: true,
    autocomplete: "off",
    attrs: { maxlength: "40", spellcheck: "false", autocapitalize: "characters" },
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("pro_activate.submit"));
  const form = h("form", { id: "pro-activation-form", class: "form", novalidate: true },
    alert, rppsField, codeField, submit);
  const rpps = rppsField.querySelector("input");
  const code = codeField.querySelector("input");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const rppsValue = rpps.value.replace(/\s/g, "");
    if (!rppsValue) return invalid(alert, rpps, t("error.required"));
    if (!/^\d{11}$/.test(rppsValue)) return invalid(alert, rpps, t("pro_activate.rpps_format"));
    if (!code.value.trim()) return invalid(alert, code, t("error.required"));
    await busy(submit, async () => {
      try {
        await api.post("/api/activation/pro",
          { rpps: rppsValue, activation_code: code.value.trim() }, { auth: false });
        enrolling = true;
        const step = stepTwo();
        step1.replaceWith(step);
        step.querySelector(".step-title").focus();
      } catch (err) {
        const first = showError(alert, err, form, { rpps: "pro-rpps", activation_code: "pro-activation-code" });
        holdFor(submit, err);
        (first || rpps).focus();
      }
    });
    return true;
  });

  const step1 = h("section", { class: "step", "aria-labelledby": "pro-step1-title" },
    h("h2", { id: "pro-step1-title" }, t("pro_activate.step1")), form);
  view.append(step1,
    h("p", { class: "aside" }, t("activate.have_account"), " ", h("a", { href: "#/login" }, t("activate.login_link"))),
    h("p", { class: "aside" }, t("pro_activate.citizen"), " ", h("a", { href: "#/activate" }, t("login.activate_link"))));
  return view;
}
