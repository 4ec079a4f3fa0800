// #/security: passkeys, password + TOTP, connected devices, logout everywhere.

import { api } from "../api.js";
import {
  alertBox, badge, busy, confirmAction, h, heading, showError,
} from "../dom.js";
import { formatDateTime, t } from "../i18n.js";
import { passkeyForm, passwordForms } from "./enroll.js";

export function deviceName(ua) {
  if (!ua) return t("sec.sessions.unknown_device");
  const browser = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Chromium/", "Chromium"],
    ["Safari/", "Safari"]].find(([k]) => ua.includes(k))?.[1];
  const os = [["Android", "Android"], ["iPhone", "iOS"], ["iPad", "iPadOS"], ["Windows", "Windows"],
    ["Mac OS X", "macOS"], ["CrOS", "ChromeOS"], ["Linux", "Linux"]].find(([k]) => ua.includes(k))?.[1];
  return browser && os ? t("sec.sessions.device", { browser, os }) : ua.slice(0, 80);
}

export async function render(ctx) {
  let overview = await api.get("/api/security");

  const passkeysTitle = h("h2", { id: "passkeys-title", tabindex: "-1" }, t("sec.passkeys.title"));
  const passkeysList = h("div", { id: "passkeys-list" });
  const passwordBox = h("div", { id: "password-box" });
  const sessionsTitle = h("h2", { id: "sessions-title", tabindex: "-1" }, t("sec.sessions.title"));
  const sessionsList = h("div", { id: "sessions-list" });

  async function refresh() {
    overview = await api.get("/api/security");
    fillPasskeys();
    fillPassword();
    fillSessions();
  }

  function fillPasskeys() {
    const keys = overview.passkeys;
    passkeysList.replaceChildren(keys.length
      ? h("ul", { class: "list" }, ...keys.map((k) => h("li", { class: "list-item" },
        h("div", { class: "list-main" },
          h("p", { class: "list-title" }, k.label),
          h("p", { class: "muted" }, t("sec.passkeys.created", { date: formatDateTime(k.created_at) })),
          h("p", { class: "muted" }, t("sec.passkeys.last_used",
            { date: k.last_used_at ? formatDateTime(k.last_used_at) : t("common.never") }))),
        confirmAction({
          label: t("sec.passkeys.delete"),
          ariaLabel: t("sec.passkeys.delete.aria", { label: k.label }),
          question: t("sec.passkeys.delete.question", { label: k.label }),
          confirmText: t("sec.passkeys.delete.confirm"),
          action: async () => {
            await api.del(`/api/security/passkeys/${k.id}`);
            ctx.flash(t("sec.passkeys.deleted"));
            await refresh();
            passkeysTitle.focus();
          },
        }))))
      : h("p", { class: "muted" }, t("sec.passkeys.empty")));
  }

  function fillPassword() {
    const toggle = h("button", {
      type: "button", id: "password-toggle", class: "btn btn-secondary",
      "aria-expanded": "false", "aria-controls": "password-enrol",
    }, overview.password_set ? t("sec.password.change") : t("sec.password.define"));
    const enrol = h("div", { id: "password-enrol", hidden: true },
      h("p", { class: "notice notice-warning" }, t("sec.password.warning")),
      passwordForms({
        headingLevel: "h3",
        onDone: async () => {
          ctx.flash(t("enroll.totp.done"));
          await refresh();
          document.getElementById("password-toggle")?.focus();
        },
      }));
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      enrol.hidden = !open;
      if (open) enrol.querySelector("input")?.focus();
    });
    passwordBox.replaceChildren(
      h("ul", { class: "status-list" },
        h("li", {}, t("sec.password.state", { state: overview.password_set ? t("sec.password.set") : t("sec.password.unset") })),
        h("li", {}, t("sec.totp.state", { state: overview.totp_enabled ? t("sec.totp.on") : t("sec.totp.off") }))),
      toggle, enrol);
  }

  function fillSessions() {
    sessionsList.replaceChildren(h("ul", { class: "list" }, ...overview.sessions.map((s) => {
      const name = deviceName(s.device);
      return h("li", { class: "list-item", "data-current": s.current ? "true" : "false" },
        h("div", { class: "list-main" },
          h("p", { class: "list-title" }, name, " ", s.current ? badge(t("sec.sessions.current"), "info") : null),
          h("p", { class: "muted" }, t("sec.sessions.started", { date: formatDateTime(s.created_at) })),
          h("p", { class: "muted" }, t("sec.sessions.seen", { date: formatDateTime(s.last_seen_at) }))),
        s.current ? null : h("div", { class: "list-actions" }, sessionButton(s, name)));
    })));
  }

  function sessionButton(s, name) {
    const alert = alertBox("");
    alert.removeAttribute("id");
    const button = h("button", {
      type: "button", class: "btn btn-danger-quiet", "aria-label": t("sec.sessions.revoke.aria", { device: name }),
    }, t("sec.sessions.revoke"));
    button.addEventListener("click", () => busy(button, async () => {
      try {
        await api.del(`/api/security/sessions/${encodeURIComponent(s.id)}`);
        ctx.flash(t("sec.sessions.revoked"));
        await refresh();
        sessionsTitle.focus();
      } catch (err) {
        showError(alert, err);
      }
    }));
    return h("div", {}, button, alert);
  }

  fillPasskeys();
  fillPassword();
  fillSessions();

  const logoutAll = h("button", {
    type: "button", id: "logout-all", class: "btn btn-danger", "aria-describedby": "logout-all-hint",
  }, t("sec.logout_all"));
  logoutAll.addEventListener("click", () => busy(logoutAll, () => ctx.logout({ everywhere: true })));

  return h("div", { class: "view" },
    heading(t("sec.title")),
    h("p", { class: "lead" }, t("sec.intro")),
    h("section", { class: "section panel", "aria-labelledby": "passkeys-title" },
      passkeysTitle, passkeysList,
      h("h3", {}, t("enroll.passkey.add")),
      passkeyForm({
        buttonText: t("enroll.passkey.add"),
        onDone: async () => {
          ctx.flash(t("enroll.passkey.added"));
          await refresh();
        },
      })),
    h("section", { class: "section panel", "aria-labelledby": "password-title" },
      h("h2", { id: "password-title" }, t("sec.password.title")), passwordBox),
    h("section", { class: "section panel", "aria-labelledby": "sessions-title" },
      sessionsTitle, sessionsList,
      h("div", { class: "danger-zone" },
        h("p", { class: "muted", id: "logout-all-hint" }, t("sec.logout_all.hint")),
        logoutAll)));
}
