import { Inject, Injectable } from '@nestjs/common';
import { type BuiltPackage, serialiseManifest } from '../../libs/exchange-format/src/package.js';
import type { DeepZoomArchive } from '../../libs/imaging/src/deep-zoom.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../storage/object-storage.js';
import { type RenderedView, renderViews } from './render-views.js';
import { type Layer, type RenditionName, scanObjects } from './scan-objects.js';

export type { RenderedView } from './render-views.js';

/**
 * Writes what a scan is made of to object storage: its exchange package and its viewer images. Used by the
 * pipeline for live scans and by training for projected-threat scans, so both are stored the same way.
 */
@Injectable()
export class ScanObjectsWriter {
  constructor(@Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage) {}

  /** The plane PNGs, then the manifest (a package without its manifest is never read). */
  async storePackage(scanId: string, built: BuiltPackage): Promise<void> {
    for (const part of built.parts) {
      await this.storage.put(scanObjects.packagePart(scanId, part.path), part.data, 'image/png');
    }
    await this.storage.put(scanObjects.packagePart(scanId, 'manifest.json'), serialiseManifest(built.manifest), 'application/json');
  }

  renderViews(views: Parameters<typeof renderViews>[0]): Promise<RenderedView[]> {
    return renderViews(views);
  }

  async storeRenditions(scanId: string, rendered: RenderedView[]): Promise<void> {
    for (const { viewId, renditions } of rendered) {
      await this.storeLayer(scanId, viewId, 'grey', renditions);
      if (renditions.material) await this.storeLayer(scanId, viewId, 'material', renditions.material);
    }
  }

  private async storeLayer(
    scanId: string,
    viewId: string,
    layer: Layer,
    images: { display: Buffer; thumbnail: Buffer; tiles: DeepZoomArchive },
  ): Promise<void> {
    const key = (name: string) => scanObjects.rendition(scanId, viewId, `${layer}-${name}` as RenditionName);
    const index = { format: images.tiles.format, index: images.tiles.index };
    await Promise.all([
      this.storage.put(key('display.jpg'), images.display, 'image/jpeg'),
      this.storage.put(key('thumbnail.jpg'), images.thumbnail, 'image/jpeg'),
      this.storage.put(key('tiles.dzi'), Buffer.from(images.tiles.dzi), 'application/xml'),
      this.storage.put(key('tiles.bin'), images.tiles.archive),
      this.storage.put(key('tiles.json'), Buffer.from(JSON.stringify(index)), 'application/json'),
    ]);
  }
}
