// #/activate: NIR + activation code + date of birth, then the first credential.

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
    if (current().name !== "activate") enrolling = false;
  });
  const view = h("div", { class: "view view-narrow" },
    heading(t("activate.title")),
    h("p", { class: "lead" }, t("activate.intro")));

  const done = () => ctx.loggedIn(t("activate.done"));

  const stepTwo = () => enrolmentStep({
    id: "step2-title", title: t("activate.step2"), intro: t("activate.step2.intro"), onDone: done,
  });

  if (enrolling) {
    view.append(stepTwo());
    return view;
  }

  const alert = alertBox("activation-alert");
  const nirField = field({
    id: "nir",
    label: t("activate.nir"),
    hint: t("activate.nir.hint"),
    required: true,
    autocomplete: "off",
    attrs: { maxlength: "25", spellcheck: "false", autocapitalize: "characters" },
  });
  const codeField = field({
    id: "activation-code",
    label: t("activate.code"),
    hint: t("activate.code.hint"),
    required: true,
    autocomplete: "off",
    attrs: { maxlength: "40", spellcheck: "false", autocapitalize: "characters" },
  });
  const birthField = field({
    id: "birth-date",
    label: t("activate.birth_date"),
    type: "date",
    required: true,
    autocomplete: "bday",
    attrs: { max: new Date().toISOString().slice(0, 10), min: "1900-01-01" },
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("activate.submit"));
  const form = h("form", { id: "activation-form", class: "form", novalidate: true },
    alert, nirField, codeField, birthField, submit);
  const nir = nirField.querySelector("input");
  const code = codeField.querySelector("input");
  const birth = birthField.querySelector("input");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const nirValue = nir.value.replace(/[\s.-]/g, "").toUpperCase();
    if (!nirValue) return invalid(alert, nir, t("error.required"));
    if (!code.value.trim()) return invalid(alert, code, t("error.required"));
    if (!/^\d{4}-\d{2}-\d{2}$/.test(birth.value)) return invalid(alert, birth, t("error.date"));
    await busy(submit, async () => {
      try {
        await api.post("/api/activation",
          { nir: nirValue, activation_code: code.value.trim(), birth_date: birth.value },
          { auth: false });
        enrolling = true;
        const step = stepTwo();
        step1.replaceWith(step);
        step.querySelector(".step-title").focus();
      } catch (err) {
        const first = showError(alert, err, form,
          { nir: "nir", activation_code: "activation-code", birth_date: "birth-date" });
        holdFor(submit, err);
        (first || nir).focus();
      }
    });
    return true;
  });

  const step1 = h("section", { class: "step", "aria-labelledby": "step1-title" },
    h("h2", { id: "step1-title" }, t("activate.step1")), form);
  view.append(step1,
    h("p", { class: "aside" }, t("activate.have_account"), " ", h("a", { href: "#/login" }, t("activate.login_link"))));
  return view;
}
