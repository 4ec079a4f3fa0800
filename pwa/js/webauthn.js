// Passkeys: convert the server's JSON options to WebAuthn calls and the
// resulting credentials back to JSON (binary fields as base64url).

import { t } from "./i18n.js";

export function b64urlToBuffer(value) {
  const b64 = String(value).replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const bin = atob(padded);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return bytes.buffer;
}

export function bufferToB64url(buffer) {
  if (!buffer) return null;
  const bytes = new Uint8Array(buffer);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 1) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function passkeysSupported() {
  return Boolean(window.PublicKeyCredential && navigator.credentials && window.isSecureContext);
}

// The relying party of the last ceremony: the host name passkeys are bound to.
let lastRpId = "";

function descriptors(list) {
  return (list || []).map((d) => ({ ...d, id: b64urlToBuffer(d.id) }));
}

/** Create a passkey from PublicKeyCredentialCreationOptions JSON. */
export async function createPasskey(options) {
  lastRpId = options.rp?.id || "";
  const publicKey = {
    ...options,
    challenge: b64urlToBuffer(options.challenge),
    user: { ...options.user, id: b64urlToBuffer(options.user.id) },
    excludeCredentials: descriptors(options.excludeCredentials),
  };
  const cred = await navigator.credentials.create({ publicKey });
  const response = cred.response;
  return {
    id: cred.id,
    rawId: bufferToB64url(cred.rawId),
    type: cred.type,
    response: {
      clientDataJSON: bufferToB64url(response.clientDataJSON),
      attestationObject: bufferToB64url(response.attestationObject),
      transports: typeof response.getTransports === "function" ? response.getTransports() : [],
    },
    clientExtensionResults: {},
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
  };
}

/** Use a (discoverable) passkey from PublicKeyCredentialRequestOptions JSON. */
export async function getPasskey(options) {
  lastRpId = options.rpId || "";
  const publicKey = {
    ...options,
    challenge: b64urlToBuffer(options.challenge),
    allowCredentials: descriptors(options.allowCredentials),
  };
  const cred = await navigator.credentials.get({ publicKey });
  const response = cred.response;
  return {
    id: cred.id,
    rawId: bufferToB64url(cred.rawId),
    type: cred.type,
    response: {
      clientDataJSON: bufferToB64url(response.clientDataJSON),
      authenticatorData: bufferToB64url(response.authenticatorData),
      signature: bufferToB64url(response.signature),
      userHandle: bufferToB64url(response.userHandle),
    },
    clientExtensionResults: {},
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
  };
}

/** A readable message for a WebAuthn DOMException. */
export function webauthnMessage(err) {
  if (err?.name === "NotAllowedError" || err?.name === "AbortError") return t("error.webauthn_cancelled");
  if (err?.name === "InvalidStateError") return t("error.webauthn_exists");
  // This page is not at the address the passkeys belong to (127.0.0.1 for localhost, say).
  if (err?.name === "SecurityError" && lastRpId && lastRpId !== location.hostname) {
    return t("error.webauthn_address", { host: lastRpId });
  }
  return t("error.webauthn_failed", { name: err?.name || "Error" });
}
