// Patients a professional found or opened in this tab, with the identity
// traits typed for the search (needed again to add a document). Kept in
// memory only, never stored on the device: a reload or logout forgets them.

const known = new Map();

/** Remember a patient answer ({id, first_name, birth_name, birth_date, basis, until}) and traits. */
export function remember(patient, traits = null) {
  const before = known.get(patient.id);
  known.set(patient.id, { ...before, ...patient, traits: traits || before?.traits || null });
}

export function recall(id) {
  return known.get(id) || null;
}

export function forgetAll() {
  known.clear();
}
