import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { z } from 'zod';
import { findUnstorableText, unstorableTextReason } from '../../libs/exchange-format/src/text.js';
import { THREAT_CATEGORIES, type ThreatCategory } from '../../libs/exchange-format/src/verdict.js';
import { decodeGrey, type GreyPlane, RasterError, type RasterInfo, readRasterInfo } from '../../libs/imaging/src/raster.js';
import { STARTER_THREAT_ITEM_KEYS, starterThreatItems } from '../../libs/imaging/src/synthetic/threat-items.js';
import {
  decodeThreatItem,
  encodeThreatItem,
  MAX_THREAT_ITEM_SIDE,
  threatItemFromPlanes,
  ThreatItemError,
  type ThreatItemImage,
  threatItemPreview,
} from '../../libs/imaging/src/tip/threat-item.js';
import { ConversionError } from '../../libs/scanner-adapters/src/adapter.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { OBJECT_STORAGE, ObjectNotFoundError, type ObjectStorage } from '../storage/object-storage.js';
import type { ThreatItemResponse } from './training.contract.js';
import { type ThreatItemRow, TrainingRepository } from './training.repository.js';
import { isUuid } from '../common/ids.js';

/** Where a threat item's images live in storage. */
export const threatItemObjects = {
  prefix: (id: string) => `training/threat-items/${id}/`,
  part: (id: string, part: 'high.png' | 'low.png' | 'mask.png' | 'preview.jpg') => `training/threat-items/${id}/${part}`,
};

/** The largest upload part accepted for one item plane (a 2048 x 2048 16-bit PNG is at most ~8 MB). */
export const MAX_THREAT_ITEM_PART_BYTES = 16 * 1024 * 1024;

const uploadFields = z.object({
  name: z.string().trim().min(1).max(120),
  category: z.enum(THREAT_CATEGORIES),
  description: z.string().trim().max(2000).default(''),
  pixelSpacingMm: z.coerce.number().positive().max(100),
  airValue: z.coerce.number().int().min(1).max(65535),
});

export type ThreatItemUploadPart = { kind: 'field'; name: string; value: string } | { kind: 'file'; name: string; data: Promise<Buffer> };

export function threatItemResponse(row: ThreatItemRow): ThreatItemResponse {
  return {
    id: row.id,
    name: row.name,
    category: row.category as ThreatCategory,
    description: row.description,
    width: row.width,
    height: row.height,
    pixelSpacingMm: row.pixelSpacingMm,
    source: row.source,
    retired: row.retiredAt !== null,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * The threat library: items to project into clean scans. The starter set (made by the synthetic generator) is
 * added at the first start; trainers upload their own and retire items they no longer want in new sets.
 */
@Injectable()
export class ThreatLibraryService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ThreatLibraryService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly training: TrainingRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.roles.has('api')) await this.addStarterSet();
  }

  /** Adds the starter items not in the library yet; a retired starter item stays retired. */
  async addStarterSet(): Promise<number> {
    const present = await this.training.starterKeys();
    if (STARTER_THREAT_ITEM_KEYS.every((key) => present.has(key))) return 0;
    let added = 0;
    for (const starter of starterThreatItems()) {
      if (present.has(starter.key)) continue;
      const id = this.clock.newId();
      await this.storeImages(id, starter.image);
      const inserted = await this.training.insertThreatItem({
        id,
        name: starter.name,
        category: starter.category,
        description: starter.description,
        width: starter.image.width,
        height: starter.image.height,
        airValue: starter.image.airValue,
        pixelSpacingMm: starter.image.pixelSpacingMm,
        source: 'starter',
        starterKey: starter.key,
        createdAt: this.clock.now(),
      });
      if (inserted) added++;
      else await this.storage.deletePrefix(threatItemObjects.prefix(id));
    }
    if (added) this.logger.log(`added ${added} starter threat items to the library`);
    return added;
  }

  async list(includeRetired: boolean): Promise<ThreatItemResponse[]> {
    return (await this.training.threatItems(includeRetired)).map(threatItemResponse);
  }

  /** A trainer's own item: two 16-bit PNG planes (high, low), an optional 8-bit mask, and what they are. */
  async upload(trainer: UserPrincipal, parts: AsyncIterable<ThreatItemUploadPart>): Promise<ThreatItemResponse> {
    const fields: Record<string, string> = {};
    const files: Record<string, Buffer> = {};
    for await (const part of parts) {
      if (part.kind === 'field') fields[part.name] = part.value;
      else if (part.name === 'high' || part.name === 'low' || part.name === 'mask') files[part.name] = await this.partData(part);
      else {
        part.data.catch(() => undefined);
        throw ApiError.badRequest('unexpected_part', `unexpected file part ${part.name}: send high, low and optionally mask`);
      }
    }
    const unstorable = findUnstorableText(fields);
    if (unstorable) {
      const subject = unstorable.inKey ? 'a field name' : `the field "${unstorable.path.join('.')}"`;
      throw new ApiError(422, 'invalid_text', `${subject} ${unstorableTextReason(unstorable)}`);
    }
    const parsed = uploadFields.safeParse(fields);
    if (!parsed.success) {
      throw ApiError.badRequest('invalid_threat_item', `the item's fields are not valid: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    }
    if (!files.high || !files.low) throw ApiError.badRequest('invalid_threat_item', 'send the item as two 16-bit PNG files, high and low (and optionally mask)');
    const image = await this.decodeUpload(files, parsed.data);
    const id = this.clock.newId();
    await this.storeImages(id, image);
    const now = this.clock.now();
    await this.training.insertThreatItem({
      id,
      name: parsed.data.name,
      category: parsed.data.category,
      description: parsed.data.description,
      width: image.width,
      height: image.height,
      airValue: image.airValue,
      pixelSpacingMm: image.pixelSpacingMm,
      source: 'upload',
      createdBy: trainer.id,
      createdAt: now,
    });
    await this.audit.record({ actorType: 'user', actorId: trainer.id, action: 'threat_item.added', detail: { threatItemId: id, name: parsed.data.name } });
    return threatItemResponse((await this.training.threatItem(id))!);
  }

  async setRetired(trainer: UserPrincipal, id: string, retired: boolean): Promise<ThreatItemResponse> {
    const row = isUuid(id) ? await this.training.setRetired(id, retired ? this.clock.now() : null) : undefined;
    if (!row) throw ApiError.notFound('threat_item_not_found', `no threat item ${id}`);
    await this.audit.record({ actorType: 'user', actorId: trainer.id, action: retired ? 'threat_item.retired' : 'threat_item.restored', detail: { threatItemId: id } });
    return threatItemResponse(row);
  }

  async preview(id: string): Promise<Buffer> {
    if (!isUuid(id)) throw ApiError.notFound('threat_item_not_found', `no threat item ${id}`);
    try {
      return await this.storage.get(threatItemObjects.part(id, 'preview.jpg'));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw ApiError.notFound('threat_item_not_found', `no threat item ${id}`);
      throw error;
    }
  }

  /** The item's images, for projection. */
  async image(row: ThreatItemRow): Promise<ThreatItemImage> {
    const [high, low, mask] = await Promise.all(
      (['high.png', 'low.png', 'mask.png'] as const).map((part) => this.storage.get(threatItemObjects.part(row.id, part))),
    );
    return decodeThreatItem({ high, low, mask }, { airValue: row.airValue, pixelSpacingMm: row.pixelSpacingMm });
  }

  private async partData(part: { name: string; data: Promise<Buffer> }): Promise<Buffer> {
    try {
      return await part.data;
    } catch (error) {
      if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
        throw new ApiError(413, 'threat_item_too_large', `${part.name} is larger than ${MAX_THREAT_ITEM_PART_BYTES / 1024 / 1024} MB`);
      }
      throw error;
    }
  }

  /**
   * The planes of an upload, decoded only after their headers passed: each plane at most MAX_THREAT_ITEM_SIDE a side
   * and all of them together within the per-scan limit (413 too_many_pixels), high and low 16-bit, the three of one
   * size (422). A 50 KB PNG can declare 20000 x 20000 pixels: its header is all that is read of it. Then one decode at
   * a time.
   */
  private async decodeUpload(files: Record<string, Buffer>, fields: z.infer<typeof uploadFields>): Promise<ThreatItemImage> {
    try {
      const parts = (['high', 'low', 'mask'] as const).filter((name) => files[name] !== undefined);
      const headers = new Map<string, RasterInfo>();
      for (const name of parts) headers.set(name, await this.partHeader(name, files[name]));
      this.assertItemSize(headers);
      const decoded = new Map<string, GreyPlane>();
      for (const name of parts) decoded.set(name, await decodeGrey(files[name]));
      const mask = decoded.get('mask');
      return threatItemFromPlanes(decoded.get('high')!, decoded.get('low')!, {
        airValue: fields.airValue,
        pixelSpacingMm: fields.pixelSpacingMm,
        ...(mask ? { mask } : {}),
      });
    } catch (error) {
      if (error instanceof ThreatItemError || error instanceof RasterError) throw new ApiError(422, 'invalid_threat_item', error.message);
      if (error instanceof ConversionError) throw new ApiError(error.code === 'too_many_pixels' ? 413 : 422, error.code, error.message);
      throw error;
    }
  }

  /** The header of one uploaded plane (format, size, depth): nothing is decoded. */
  private async partHeader(name: string, data: Buffer): Promise<RasterInfo> {
    try {
      return await readRasterInfo(data);
    } catch (error) {
      if (error instanceof RasterError) throw new ThreatItemError(`${name}: ${error.message}`);
      throw error;
    }
  }

  /** The upload's declared sizes against the item limits, before any plane is decoded. */
  private assertItemSize(headers: Map<string, RasterInfo>): void {
    let total = 0;
    for (const [name, info] of headers) {
      if (info.width > MAX_THREAT_ITEM_SIDE || info.height > MAX_THREAT_ITEM_SIDE) {
        throw new ApiError(
          413,
          'too_many_pixels',
          `${name} is ${info.width} x ${info.height} pixels; a threat item is at most ${MAX_THREAT_ITEM_SIDE} x ${MAX_THREAT_ITEM_SIDE} pixels a plane`,
        );
      }
      total += info.width * info.height;
    }
    const { maxPixelsPerScan } = this.config.limits;
    if (total > maxPixelsPerScan) {
      throw new ApiError(
        413,
        'too_many_pixels',
        `the threat item's planes hold ${total} pixels in all; this service accepts at most ${maxPixelsPerScan} per scan or item (NIIX_MAX_PIXELS_PER_SCAN)`,
      );
    }
    for (const name of ['high', 'low']) {
      const info = headers.get(name)!;
      if (info.bitDepth !== 16) throw new ThreatItemError(`${name} must be a 16-bit greyscale PNG; it has ${info.bitDepth} bits`);
    }
    const high = headers.get('high')!;
    const low = headers.get('low')!;
    if (high.width !== low.width || high.height !== low.height) {
      throw new ThreatItemError(
        `The high- and low-energy planes of a threat item differ in size (${high.width} x ${high.height} and ${low.width} x ${low.height}).`,
      );
    }
    const mask = headers.get('mask');
    if (mask && (mask.width !== high.width || mask.height !== high.height)) {
      throw new ThreatItemError(`The mask of the threat item is ${mask.width} x ${mask.height} pixels; its planes are ${high.width} x ${high.height}.`);
    }
  }

  private async storeImages(id: string, image: ThreatItemImage): Promise<void> {
    const [encoded, preview] = await Promise.all([encodeThreatItem(image), threatItemPreview(image)]);
    await Promise.all([
      this.storage.put(threatItemObjects.part(id, 'high.png'), encoded.high, 'image/png'),
      this.storage.put(threatItemObjects.part(id, 'low.png'), encoded.low, 'image/png'),
      this.storage.put(threatItemObjects.part(id, 'mask.png'), encoded.mask, 'image/png'),
      this.storage.put(threatItemObjects.part(id, 'preview.jpg'), preview, 'image/jpeg'),
    ]);
  }
}
