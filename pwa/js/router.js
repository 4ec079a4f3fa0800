// Hash routing: "#/card/<id>?x=1" -> {name: "card", params: ["<id>"], query}.
// Hashes that do not start with "#/" (in-page anchors) are ignored.

let onChange = null;

export function current() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(2) : "";
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "", params: parts.slice(1), query: new URLSearchParams(query) };
}

/** Go to "#/<path>"; replace=true does not add a history entry. */
export function navigate(path, { replace = false } = {}) {
  const target = `#/${path}`;
  if (location.hash === target) {
    onChange?.();
  } else if (replace) {
    history.replaceState(history.state, "", target);
    onChange?.();
  } else {
    location.hash = target;
  }
}

export function start(handler) {
  onChange = handler;
  window.addEventListener("hashchange", () => {
    if (location.hash && !location.hash.startsWith("#/")) return;
    handler();
  });
  handler();
}
