/** Client-side checks of what members type, mirroring src/ztix/domain/identifiers.py so
 *  mistakes show inline; the server checks again and has the last word. */

export function normalizeNodeId(value: string): string {
  return value.trim().toLowerCase();
}

/** Why `value` is not a ZeroTier node ID, or null when it is one. */
export function nodeIdProblem(value: string): string | null {
  const id = normalizeNodeId(value);
  if (!id) return "Enter your router's ZeroTier node ID.";
  if (!/^[0-9a-f]*$/.test(id)) return "Only the digits 0-9 and letters a-f are allowed.";
  if (id.length !== 10) return `A node ID has exactly 10 characters (this has ${id.length}).`;
  if (id === "0000000000") return "0000000000 is not a real node ID.";
  if (id.startsWith("ff")) return "Node IDs starting with ff are reserved.";
  return null;
}
