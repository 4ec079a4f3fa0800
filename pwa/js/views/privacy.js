// #/privacy: "Accès & confidentialité" of one's own profile or a child's, a hub
// linking to one sub-screen per subject (#/privacy/<name>, see SCREENS):
// temporary access codes for a professional, the care team and blocked
// professionals, emergency access and research use, the access history with
// filters, and the data export and closing of the space.

import { api } from "../api.js";
import {
  alertBox, badge, busy, clearErrors, confirmAction, field, h, heading, invalid, showError,
} from "../dom.js";
import { formatDate, formatDateTime, getLang, t, tOr } from "../i18n.js";
import { profileName, selectField } from "./documents.js";

const DURATIONS = [15, 60, 240, 1440, 10080];
const DEFAULT_DURATION = 60;
const TEMP_TONES = { pending: "warning", used: "success", expired: "neutral", revoked: "error" };
const ACTOR_KINDS = ["pro", "emergency", "delegate", "parent", "operator"];
const OUTCOMES = ["allowed", "refused"];

/** A sub-screen: its h1, the way back to the hub, and its panel. */
function section(id, title, ...content) {
  return [
    h("p", {}, h("a", { href: "#/privacy", class: "link-back" }, t("privacy.back"))),
    h("h1", { id, tabindex: "-1", class: "view-title" }, title),
    h("section", { class: "section panel privacy-panel", "aria-labelledby": id }, ...content),
  ];
}

// --- temporary access -----------------------------------------------------------

function temporarySection(ctx, profile, initial) {
  const alert = alertBox("temporary-alert");
  const result = h("div", { id: "temporary-result" });
  const labelField = field({
    id: "temporary-label", label: t("temp.label"), hint: t("temp.label.hint"), optional: true,
    autocomplete: "off", attrs: { maxlength: "100" },
  });
  const label = labelField.querySelector("input");
  const duration = h("select", { id: "temporary-duration", name: "minutes" },
    ...DURATIONS.map((m) => h("option", { value: String(m), selected: m === DEFAULT_DURATION },
      t(`temp.duration.${m}`))));
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("temp.create"));
  const form = h("form", { id: "temporary-form", class: "form", novalidate: true },
    alert, labelField,
    selectField({ id: "temporary-duration", label: t("temp.duration"), control: duration,
      hint: t("temp.duration.hint") }),
    submit);
  const listTitle = h("h2", { id: "temporary-list-title", tabindex: "-1" }, t("temp.list.title"));
  const listBox = h("div", { id: "temporary-list" });
  // The code is shown once and only kept in the page: gone when leaving it.
  ctx.onLeave(() => result.replaceChildren());

  async function reload() {
    fill(await api.get(`/api/profiles/${profile.id}/temporary-access`));
  }

  function fill(items) {
    listBox.replaceChildren(items.length
      ? h("ul", { class: "list" }, ...items.map((a) => {
        const name = a.label || t("temp.unnamed");
        const meta = [
          t("temp.created", { date: formatDateTime(a.created_at) }),
          a.redeemed_at ? t("temp.redeemed", { date: formatDateTime(a.redeemed_at) }) : null,
          t("temp.expires", { date: formatDateTime(a.expires_at) }),
        ].filter(Boolean);
        return h("li", { class: "list-item", "data-state": a.state },
          h("div", { class: "list-main" },
            h("p", { class: "list-title" }, name, " ", badge(t(`temp.state.${a.state}`), TEMP_TONES[a.state])),
            h("p", { class: "muted" }, meta.join(" · "))),
          ["pending", "used"].includes(a.state) ? confirmAction({
            label: t("temp.revoke"),
            ariaLabel: t("temp.revoke.aria", { label: name }),
            question: t("temp.revoke.question", { label: name }),
            confirmText: t("temp.revoke.confirm"),
            action: async () => {
              await api.del(`/api/temporary-access/${a.id}`);
              ctx.flash(t("temp.revoked"));
              await reload();
              listTitle.focus();
            },
          }) : null);
      }))
      : h("p", { class: "muted" }, t("temp.list.empty")));
  }
  fill(initial);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    await busy(submit, async () => {
      try {
        const out = await api.post(`/api/profiles/${profile.id}/temporary-access`, {
          minutes: Number(duration.value), label: label.value.trim(),
        });
        form.reset();
        result.replaceChildren(h("div", { class: "notice notice-success temporary-code" },
          h("h2", { id: "temporary-code-title", tabindex: "-1" }, t("temp.code.title")),
          h("p", { class: "invitation-code", id: "temporary-code-value" }, out.code),
          out.qr ? h("div", { class: "qr-box" },
            h("img", { src: out.qr, alt: t("temp.qr.alt"), class: "qr", width: "220", height: "220" })) : null,
          h("p", {}, t("temp.code.intro", { date: formatDateTime(out.expires_at) }))));
        ctx.flash(t("temp.code.created"));
        await reload();
        result.querySelector("h2").focus();
      } catch (err) {
        const first = showError(alert, err, form, { label: "temporary-label", minutes: "temporary-duration" });
        (first || label).focus();
      }
    });
  });

  return section("temporary-title", t("temp.title"),
    h("p", { class: "muted" }, t("temp.intro")),
    form, result, listTitle, listBox);
}

// --- care team and blocks ----------------------------------------------------------

function rppsField(id) {
  return field({
    id, label: t("care.rpps"), hint: t("care.rpps.hint"), required: true, inputmode: "numeric",
    autocomplete: "off", attrs: { maxlength: "20", spellcheck: "false" },
  });
}

function careSection(ctx, profile, initial) {
  const teamTitle = h("h2", { id: "care-team-title", tabindex: "-1" }, t("care.team.title"));
  const teamBox = h("div", { id: "care-team-list" });
  const blockedTitle = h("h2", { id: "blocked-title", tabindex: "-1" }, t("care.blocked.title"));
  const blockedBox = h("div", { id: "blocked-list" });
  const base = `/api/profiles/${profile.id}`;

  async function reload() {
    fill(await api.get(`${base}/care-team`));
  }

  function fill(data) {
    teamBox.replaceChildren(data.care_team.length
      ? h("ul", { class: "list" }, ...data.care_team.map((p) => h("li", { class: "list-item" },
        h("div", { class: "list-main" },
          h("p", { class: "list-title" }, p.name, " ",
            badge(tOr(`care.role.${p.role}`, p.role || ""), p.role === "gp" ? "info" : "success")),
          p.structure ? h("p", { class: "muted" }, p.structure) : null,
          h("p", { class: "muted" }, t("care.since", { date: formatDate(p.since) }))),
        confirmAction({
          label: t("care.remove"),
          ariaLabel: t("care.remove.aria", { name: p.name }),
          question: t("care.remove.question", { name: p.name }),
          confirmText: t("care.remove.confirm"),
          action: async () => {
            await api.del(`${base}/care-team/${p.professional_id}`);
            ctx.flash(t("care.removed", { name: p.name }));
            await reload();
            teamTitle.focus();
          },
        }))))
      : h("p", { class: "muted" }, t("care.team.empty")));
    blockedBox.replaceChildren(data.blocked.length
      ? h("ul", { class: "list" }, ...data.blocked.map((p) => h("li", { class: "list-item" },
        h("div", { class: "list-main" },
          h("p", { class: "list-title" }, p.name, " ", badge(t("care.blocked.badge"), "error")),
          p.structure ? h("p", { class: "muted" }, p.structure) : null,
          h("p", { class: "muted" }, t("care.blocked.since", { date: formatDate(p.since) }))),
        confirmAction({
          label: t("care.unblock"),
          ariaLabel: t("care.unblock.aria", { name: p.name }),
          question: t("care.unblock.question", { name: p.name }),
          confirmText: t("care.unblock.confirm"),
          action: async () => {
            await api.del(`${base}/blocks/${p.professional_id}`);
            ctx.flash(t("care.unblocked", { name: p.name }));
            await reload();
            blockedTitle.focus();
          },
        }))))
      : h("p", { class: "muted" }, t("care.blocked.empty")));
  }
  fill(initial);

  // Add to the care team.
  const addAlert = alertBox("care-alert");
  const addRpps = rppsField("care-rpps");
  const addInput = addRpps.querySelector("input");
  const roleGp = h("input", { type: "radio", id: "care-role-gp", name: "care-role", value: "gp" });
  const roleGranted = h("input", { type: "radio", id: "care-role-granted", name: "care-role", value: "granted",
    checked: true });
  const addSubmit = h("button", { type: "submit", class: "btn btn-secondary" }, t("care.add.submit"));
  const addForm = h("form", { id: "care-form", class: "form", novalidate: true },
    addAlert, addRpps,
    h("fieldset", { class: "fieldset" },
      h("legend", {}, t("care.role")),
      h("div", { class: "checkbox" }, roleGranted, h("label", { for: "care-role-granted" }, t("care.role.granted.long"))),
      h("div", { class: "checkbox" }, roleGp, h("label", { for: "care-role-gp" }, t("care.role.gp.long")))),
    addSubmit);
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(addForm);
    const rpps = addInput.value.replace(/\s/g, "");
    if (!rpps) return invalid(addAlert, addInput, t("error.required"));
    await busy(addSubmit, async () => {
      try {
        await api.post(`${base}/care-team`, { rpps, role: roleGp.checked ? "gp" : "granted" });
        addForm.reset();
        ctx.flash(t("care.added"));
        await reload();
        teamTitle.focus();
      } catch (err) {
        showError(addAlert, err, addForm, { rpps: "care-rpps" });
        addInput.focus();
      }
    });
    return true;
  });

  // Block.
  const blockAlert = alertBox("block-alert");
  const blockRpps = rppsField("block-rpps");
  const blockInput = blockRpps.querySelector("input");
  const blockSubmit = h("button", { type: "submit", class: "btn btn-danger-quiet" }, t("care.block.submit"));
  const blockForm = h("form", { id: "block-form", class: "form", novalidate: true },
    blockAlert, blockRpps, blockSubmit);
  blockForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(blockForm);
    const rpps = blockInput.value.replace(/\s/g, "");
    if (!rpps) return invalid(blockAlert, blockInput, t("error.required"));
    await busy(blockSubmit, async () => {
      try {
        await api.post(`${base}/blocks`, { rpps });
        blockForm.reset();
        ctx.flash(t("care.blocked.done"));
        await reload();
        blockedTitle.focus();
      } catch (err) {
        showError(blockAlert, err, blockForm, { rpps: "block-rpps" });
        blockInput.focus();
      }
    });
    return true;
  });

  return section("care-title", t("care.title"),
    h("p", { class: "muted" }, t("care.intro")),
    teamTitle, teamBox,
    h("h2", { id: "care-add-title" }, t("care.add.title")),
    addForm,
    blockedTitle,
    h("p", { class: "muted" }, t("care.blocked.intro")),
    blockedBox,
    h("h2", { id: "block-add-title" }, t("care.block.title")),
    blockForm);
}

// --- emergency access and research ---------------------------------------------------

function settingsSection(ctx, profile, privacy, choices) {
  const alert = alertBox("settings-alert");
  const opposed = h("input", {
    type: "checkbox", id: "emergency-opposed", name: "emergency-opposed",
    checked: privacy.emergency_access_opposed, "aria-describedby": "emergency-opposed-hint",
  });
  const consent = h("input", { type: "radio", id: "research-consent", name: "research", value: "consent",
    checked: privacy.research_choice === "consent" });
  const objection = h("input", { type: "radio", id: "research-objection", name: "research", value: "objection",
    checked: privacy.research_choice === "objection" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("settings.submit"));
  const historyBox = h("div", { id: "research-history" });
  let current = privacy;

  function fillHistory(items) {
    historyBox.replaceChildren(items.length
      ? h("ul", { class: "status-list" }, ...items.map((c) => h("li", {},
        t(`settings.research.history.${c.choice}`, { date: formatDateTime(c.created_at) }))))
      : h("p", { class: "muted" }, t("settings.research.none")));
  }
  fillHistory(choices);

  const form = h("form", { id: "settings-form", class: "form", novalidate: true },
    alert,
    h("fieldset", { class: "fieldset" },
      h("legend", {}, t("settings.emergency")),
      h("p", { id: "emergency-opposed-hint", class: "field-hint" }, t("settings.emergency.hint")),
      h("div", { class: "checkbox" }, opposed, h("label", { for: "emergency-opposed" }, t("settings.emergency.oppose")))),
    h("fieldset", { class: "fieldset" },
      h("legend", {}, t("settings.research")),
      h("p", { class: "field-hint" }, t("settings.research.hint")),
      h("div", { class: "checkbox" }, consent, h("label", { for: "research-consent" }, t("settings.research.consent"))),
      h("div", { class: "checkbox" }, objection,
        h("label", { for: "research-objection" }, t("settings.research.objection")))),
    submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {};
    if (opposed.checked !== current.emergency_access_opposed) body.emergency_access_opposed = opposed.checked;
    const research = consent.checked ? "consent" : objection.checked ? "objection" : null;
    if (research && research !== current.research_choice) body.research_choice = research;
    if (!Object.keys(body).length) {
      ctx.flash(t("settings.unchanged"));
      return;
    }
    await busy(submit, async () => {
      try {
        current = await api.post(`/api/profiles/${profile.id}/privacy`, body);
        ctx.flash(t("settings.saved"));
        if (body.research_choice) fillHistory(await api.get(`/api/profiles/${profile.id}/research-choices`));
      } catch (err) {
        showError(alert, err);
        submit.focus();
      }
    });
  });

  return section("settings-title", t("settings.title"),
    form,
    h("h2", { id: "research-history-title" }, t("settings.research.history")),
    historyBox);
}

// --- access history -------------------------------------------------------------------

function historyItem(e) {
  return h("li", { class: "list-item history-item", "data-outcome": e.outcome },
    h("div", { class: "list-main" },
      h("p", { class: "list-title" },
        tOr(`action.${e.action}`, e.action), " ",
        badge(tOr(`outcome.${e.outcome}`, e.outcome), e.outcome === "allowed" ? "success" : "error")),
      h("p", {}, h("time", { datetime: e.created_at }, formatDateTime(e.created_at))),
      h("p", { class: "muted" },
        t("history.by", { name: e.actor_label }),
        e.actor_kind ? ` (${tOr(`actor.${e.actor_kind}`, e.actor_kind)})` : ""),
      e.on_behalf_of ? h("p", { class: "muted" }, t("history.on_behalf_of", { name: e.on_behalf_of })) : null,
      e.reason ? h("p", { class: "muted" }, t("history.reason", { reason: e.reason })) : null));
}

function historySection(profile, initial) {
  const alert = alertBox("history-alert");
  const actor = h("select", { id: "history-actor", name: "actor_kind" },
    h("option", { value: "" }, t("history.filter.all")),
    ...ACTOR_KINDS.map((k) => h("option", { value: k }, t(`actor.${k}`))));
  const outcome = h("select", { id: "history-outcome", name: "outcome" },
    h("option", { value: "" }, t("history.filter.all")),
    ...OUTCOMES.map((o) => h("option", { value: o }, t(`outcome.${o}`))));
  const sinceField = field({ id: "history-since", label: t("history.filter.since"), type: "date", optional: true });
  const since = sinceField.querySelector("input");
  const submit = h("button", { type: "submit", class: "btn btn-secondary" }, t("history.filter.submit"));
  const form = h("form", { id: "history-filters", class: "form filters", novalidate: true },
    alert,
    h("div", { class: "filters-row" },
      selectField({ id: "history-actor", label: t("history.filter.actor"), control: actor }),
      selectField({ id: "history-outcome", label: t("history.filter.outcome"), control: outcome }),
      sinceField),
    h("div", { class: "actions" }, submit));
  const count = h("p", { id: "history-count", class: "muted", role: "status" });
  const list = h("ol", { class: "history" });
  const listBox = h("div", { id: "history-list" });
  const more = h("button", { type: "button", class: "btn btn-secondary", id: "history-more", hidden: true },
    t("history.more"));
  let query = new URLSearchParams();
  let cursor = null;

  function fill(page, append = false) {
    const shown = (append ? list.children.length : 0) + page.items.length;
    if (!append) list.replaceChildren();
    list.append(...page.items.map(historyItem));
    listBox.replaceChildren(shown ? list : "");
    count.textContent = page.total
      ? t("history.count.page", { shown, total: page.total, allowed: page.counts.allowed,
        refused: page.counts.refused })
      : t("history.empty");
    cursor = page.next_cursor;
    more.hidden = cursor === null;
  }
  fill(initial);

  more.addEventListener("click", async () => {
    const params = new URLSearchParams(query);
    params.set("before", String(cursor));
    await busy(more, async () => {
      try {
        const first = list.children.length;
        fill(await api.get(`/api/profiles/${profile.id}/access-history?${params}`), true);
        // The last page hides the button: keep the focus in the list, on the first new entry.
        const added = list.children[first];
        if (more.hidden && added) {
          added.setAttribute("tabindex", "-1");
          added.focus();
        }
      } catch (err) {
        showError(alert, err);
      }
    });
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const params = new URLSearchParams();
    if (actor.value) params.set("actor_kind", actor.value);
    if (outcome.value) params.set("outcome", outcome.value);
    if (since.value) {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(since.value);
      if (!m) return invalid(alert, since, t("error.date"));
      params.set("since", new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).toISOString());
    }
    await busy(submit, async () => {
      try {
        fill(await api.get(`/api/profiles/${profile.id}/access-history?${params}`));
        query = params;
      } catch (err) {
        showError(alert, err);
      }
    });
    return true;
  });

  return section("history-title", t("history.title.for", { name: profileName(profile) }),
    h("p", { class: "muted" }, t("history.intro")),
    form, count, listBox, h("div", { class: "actions" }, more));
}

// --- export and closure -------------------------------------------------------------------

function dataSection(ctx, profile, closure) {
  const content = [
    h("p", { class: "muted", id: "export-hint" }, t("data.export.hint")),
    h("p", {}, h("a", {
      href: `/api/profiles/${profile.id}/export`, download: "carnet-export.zip", id: "export-link",
      class: "btn btn-secondary", "aria-describedby": "export-hint",
    }, t("data.export"))),
  ];
  if (closure) {
    const alert = alertBox("close-alert");
    const word = closure.confirmation;
    const confirmField = field({
      id: "close-confirmation", label: t("data.close.label", { word }), required: true, autocomplete: "off",
      attrs: { maxlength: "20", spellcheck: "false", autocapitalize: "characters" },
    });
    const input = confirmField.querySelector("input");
    const submit = h("button", { type: "submit", class: "btn btn-danger" }, t("data.close.submit"));
    const form = h("form", { id: "close-form", class: "form", novalidate: true }, alert, confirmField, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      if (input.value.trim().toUpperCase() !== word) {
        return invalid(alert, input, t("data.close.mismatch", { word }));
      }
      await busy(submit, async () => {
        try {
          await api.post(`/api/profiles/${profile.id}/close`, { confirmation: input.value.trim() });
          ctx.flash(t("data.close.done"), { next: true });
          await ctx.logout({ silent: true });
        } catch (err) {
          showError(alert, err, form, { confirmation: "close-confirmation" });
          input.focus();
        }
      });
      return true;
    });
    content.push(
      h("div", { class: "danger-zone" },
        h("h2", { id: "close-title" }, t("data.close.title")),
        h("p", {}, getLang() === "en" ? closure.retention_en : closure.retention),
        form));
  }
  return section("data-title", t("data.title"), ...content);
}

// The sub-screens of "Accès & confidentialité", in the hub's order: what each one loads and builds.
const SCREENS = {
  temporary: {
    load: (base) => [api.get(`${base}/temporary-access`)],
    build: (ctx, profile, [temporary]) => temporarySection(ctx, profile, temporary),
  },
  care: {
    load: (base) => [api.get(`${base}/care-team`)],
    build: (ctx, profile, [care]) => careSection(ctx, profile, care),
  },
  settings: {
    load: (base) => [api.get(`${base}/privacy`), api.get(`${base}/research-choices`)],
    build: (ctx, profile, [privacy, choices]) => settingsSection(ctx, profile, privacy, choices),
  },
  history: {
    load: (base) => [api.get(`${base}/access-history`)],
    build: (ctx, profile, [events]) => historySection(profile, events),
  },
  data: {
    load: (base, isSelf) => [isSelf ? api.get(`${base}/closure`) : Promise.resolve(null)],
    build: (ctx, profile, [closure]) => dataSection(ctx, profile, closure),
  },
};

/** The hub: one link per sub-screen, with what it is for (and the live codes). */
function hub(profile, temporary) {
  const live = temporary.filter((a) => ["pending", "used"].includes(a.state)).length;
  const status = { temporary: live ? t("privacy.hub.temporary.live", { count: live }) : null };
  return h("ul", { class: "hub-list", id: "privacy-hub" }, ...Object.keys(SCREENS).map((name) =>
    h("li", {},
      h("a", { href: `#/privacy/${name}`, class: "hub-link", "aria-describedby": `hub-${name}-hint` },
        h("span", { class: "hub-title" }, t(`privacy.hub.${name}`))),
      h("p", { id: `hub-${name}-hint`, class: "muted hub-hint" },
        t(`privacy.hub.${name}.hint`), status[name] ? ` — ${status[name]}` : ""))));
}

export async function render(ctx) {
  const self = ctx.selfProfile();
  const shown = ctx.profile();
  // Settings are managed for one's own profile and one's children.
  const profile = shown && ["self", "parent"].includes(shown.relation) ? shown : self;
  if (!profile) return h("div", { class: "view" }, heading(t("privacy.title")));
  const base = `/api/profiles/${profile.id}`;
  const isSelf = profile.relation === "self";
  const screen = SCREENS[ctx.params[0]];
  if (screen) {
    const data = await Promise.all(screen.load(base, isSelf));
    const view = h("div", { class: "view" }, screen.build(ctx, profile, data));
    // A parent managing a child's settings sees whose they are in every title.
    const title = view.querySelector("h1");
    const name = profileName(profile);
    if (!isSelf && !title.textContent.includes(name)) title.textContent += ` — ${name}`;
    return view;
  }

  const temporary = await api.get(`${base}/temporary-access`);
  return h("div", { class: "view" },
    heading(isSelf ? t("privacy.title") : t("privacy.title.other", { name: profileName(profile) })),
    h("p", { class: "lead" }, t("privacy.intro")),
    shown && shown.relation === "delegate"
      ? h("div", { class: "notice notice-info" }, h("p", {}, t("privacy.delegate_notice", { name: profileName(shown) })))
      : null,
    hub(profile, temporary),
    h("p", {}, h("a", { href: "#/delegations", class: "link-arrow" }, t("privacy.delegations_link"))));
}
