/**
 * Persisted tags of manifest edits (docs/manifest-format.md). Never renumber; zero is invalid.
 */
export const EditTag = {
  // 0 is invalid.
  LogNumber: 1,
  NextFileNumber: 2,
  LastVersion: 3,
  DeleteTable: 4,
  AddTable: 5,
  DiscardVersion: 6,
} as const;

/** Number of levels (L0..L6). */
export const LEVELS = 7;
