import type { Vocab } from './vocab.ts';

/**
 * SHA-256 (lowercase hex) of the vocab's canonical text: its tokens joined by "\n" with a final "\n".
 * Hashing the canonical form keeps the hash stable across CRLF/LF and BOM variants of the same file,
 * and for an ordinary LF-terminated vocab.txt it equals `sha256sum vocab.txt`.
 * Uses WebCrypto, which exists in Node >= 20, browsers (secure contexts) and workers.
 */
export async function vocabHash(vocab: Vocab): Promise<string> {
  const canonical = vocab.tokens.join('\n') + '\n';
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  const bytes = new Uint8Array(digest);
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, '0');
  return hex;
}
