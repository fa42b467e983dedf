/** The entry file of a dist-cli/ build of exactly the current sources under `root`, else null. */
export function freshBundle(root?: string): string | null;
/** Builds dist-cli/ under `root` and returns the new entry file. */
export function buildBundle(root?: string): Promise<string>;
/** A fresh bundle's entry file, building one when needed; null when none can be built. */
export function cliBundle(root?: string): Promise<string | null>;
