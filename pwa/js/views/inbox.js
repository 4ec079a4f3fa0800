// #/inbox: the professional's messages: the shared inbox of their pharmacy and their own
// conversations with patients, latest activity first, with what is unread; it follows
// the live event stream. #/inbox/<id>: one conversation (messages.js), with the quick
// reply, closing it, and for a pharmacist the prescriptions it names opened at the counter.

import { api } from "../api.js";
import { h, heading } from "../dom.js";
import { t } from "../i18n.js";
import { liveInbox, threadRow, threadScreen } from "./messages.js";

const PHARMACIST = "21";
const INBOX_PAGE = 50;

async function renderInbox(ctx) {
  const load = ({ before = null, limit = INBOX_PAGE } = {}) => api.get(
    `/api/pro/threads?limit=${limit}${before ? `&before=${encodeURIComponent(before)}` : ""}`);
  const first = await load();
  const shared = first.structure?.name;
  const inbox = liveInbox(ctx, {
    load,
    row: (thread) => threadRow(thread, {
      href: `#/inbox/${encodeURIComponent(thread.id)}`,
      name: thread.person_name,
      detail: thread.counterpart.kind === "structure"
        ? t("msg.shared_inbox", { name: thread.counterpart.name })
        : t("msg.own_inbox"),
    }),
    countText: (page) => (page.items.length
      ? [t(page.items.length === 1 ? "msg.inbox.count.one" : "msg.inbox.count", { count: page.items.length }),
        page.unread_total
          ? t(page.unread_total === 1 ? "msg.inbox.unread.one" : "msg.inbox.unread", { count: page.unread_total })
          : t("msg.inbox.unread.none")].join(" · ")
      : ""),
    emptyText: t("msg.inbox.pro.empty"),
    nameOf: (thread) => thread.person_name,
  });
  inbox.draw(first, { keepFocus: false });

  return h("div", { class: "view" },
    heading(t("msg.pro.title")),
    h("p", { class: "lead" }, shared ? t("msg.pro.intro.shared", { name: shared }) : t("msg.pro.intro")),
    h("section", { class: "section panel", "aria-labelledby": "inbox-title" },
      h("h2", { id: "inbox-title" }, t("msg.inbox")),
      inbox.box),
    h("p", { class: "muted" }, t("msg.pro.start")));
}

export async function render(ctx) {
  const [threadId] = ctx.params;
  if (!threadId) return renderInbox(ctx);
  const me = await api.get("/api/pro/me");
  return threadScreen(ctx, threadId, {
    backHref: "#/inbox", backLabel: t("msg.pro.back"), pharmacist: me.profession_code === PHARMACIST,
  });
}
