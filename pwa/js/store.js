// Offline snapshot of the card, kept in IndexedDB only (never in CacheStorage
// or localStorage). Keys: "me" (the profile list) and "card:<profile id>".
// Cleared at logout, at login and when the session is found to be gone.

const DB_NAME = "carnet";
const STORE = "snapshots";
const VERSION = 1;

let dbPromise = null;

function open() {
  if (!("indexedDB" in window)) return Promise.reject(new Error("IndexedDB unavailable"));
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
      };
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => {
          db.close();
          dbPromise = null;
        };
        resolve(db);
      };
      req.onerror = () => {
        dbPromise = null;
        reject(req.error);
      };
    });
  }
  return dbPromise;
}

async function run(mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

async function put(key, value) {
  try {
    await run("readwrite", (s) => s.put(value, key));
  } catch {
    /* no offline copy: the app still works online */
  }
}

async function get(key) {
  try {
    return (await run("readonly", (s) => s.get(key))) ?? null;
  } catch {
    return null;
  }
}

/** Remember the card just shown, with the profile list needed to display it. */
export async function saveCard(me, card) {
  const savedAt = new Date().toISOString();
  await put("me", {
    kind: me.kind,
    display_name: me.display_name,
    profiles: me.profiles,
    saved_at: savedAt,
  });
  await put(`card:${card.id}`, { card, saved_at: savedAt });
}

export function loadMe() {
  return get("me");
}

export function loadCard(profileId) {
  return get(`card:${profileId}`);
}

export async function clearSnapshots() {
  try {
    await run("readwrite", (s) => s.clear());
  } catch {
    /* nothing stored */
  }
}
