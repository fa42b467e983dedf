import { EmbertAttention } from './embertAttention.ts';
import type { ExtensionInit } from './extensionParams.ts';
import { GatedAttention } from './gatedAttention.ts';
import { ProjectedAttentionLayers } from './projectedAttentionLayers.ts';
import type { VariantConfig } from './variantConfig.ts';
import type { VariantExtension } from './variantExtension.ts';

/** The extension a variant attaches to the shared encoder (`encoder.extension = …`); MT-DNN has none. */
export function createVariantExtension(config: VariantConfig, init: ExtensionInit): VariantExtension | null {
  switch (config.variant) {
    case 'mtdnn':
      return null;
    case 'embert':
      return new EmbertAttention(config, init);
    case 'gated':
      return new GatedAttention(config, init);
    case 'pals':
      return new ProjectedAttentionLayers(config, init);
  }
}
