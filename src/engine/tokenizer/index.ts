export { BertTokenizer, type BertTokenizerOptions } from './bertTokenizer.ts';
export { BasicTokenizer } from './basicTokenizer.ts';
export { WordPiece } from './wordpiece.ts';
export { truncateSeqPair } from './truncation.ts';
export { parseVocabText, requireTokenId, SPECIAL_TOKENS, type Vocab } from './vocab.ts';
export { vocabHash } from './vocabHash.ts';
export type { EncodeOptions, Encoding, TextPair } from './types.ts';
