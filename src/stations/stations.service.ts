import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { STATION_KEY_PREFIX, Secrets, WEBHOOK_SECRET_PREFIX } from '../auth/secrets.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ReviewRepository } from '../review/review.repository.js';
import { StationRepository, type StationRow } from './station.repository.js';

export const createStationBody = z.object({
  name: z.string().trim().min(2).max(100),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as EE, LV or LT'),
  vendor: z.string().trim().min(1).max(100).optional(),
  callbackUrl: z
    .string()
    .url()
    // zod runs this refinement even when .url() has failed: it must not throw on a value that is no URL.
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'an http or https URL')
    .optional(),
  pool: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/).default('central').describe('the analyst pool its scans go to'),
  slaSeconds: z.number().int().min(30).max(7 * 24 * 3600).default(600).describe('time from receipt to a final verdict'),
  riskLevel: z.number().int().min(0).max(100).default(0).describe('risk of the station: the floor of its scans\' risk'),
});

export const stationResponse = z.object({
  id: z.string(),
  name: z.string(),
  country: z.string(),
  vendor: z.string().nullable(),
  callbackUrl: z.string().nullable(),
  pool: z.string(),
  slaSeconds: z.number(),
  riskLevel: z.number(),
  createdAt: z.string(),
});
export const createdStationResponse = stationResponse.extend({
  apiKey: z.string().describe('shown once; niix keeps only its hash'),
  webhookSecret: z.string().describe('shown once here; signs the webhooks sent to the station'),
});

@Injectable()
export class StationsService {
  constructor(
    private readonly stations: StationRepository,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
    private readonly audit: AuditRepository,
    private readonly review: ReviewRepository,
  ) {}

  async create(actor: UserPrincipal, body: z.infer<typeof createStationBody>): Promise<z.infer<typeof createdStationResponse>> {
    const apiKey = this.secrets.generate(STATION_KEY_PREFIX);
    const webhookSecret = this.secrets.generate(WEBHOOK_SECRET_PREFIX);
    const row = {
      id: this.clock.newId(),
      name: body.name,
      country: body.country,
      vendor: body.vendor ?? null,
      callbackUrl: body.callbackUrl ?? null,
      apiKeyHash: this.secrets.digest(apiKey),
      webhookSecret,
      pool: body.pool,
      slaSeconds: body.slaSeconds,
      riskLevel: body.riskLevel,
      createdAt: this.clock.now(),
    };
    if (!(await this.review.pool(body.pool))) throw ApiError.badRequest('pool_not_found', `there is no analyst pool ${body.pool}; create it first`);
    if (!(await this.stations.insert(row))) {
      throw ApiError.conflict('station_name_taken', `a station named ${body.name} exists already`);
    }
    await this.audit.record({ actorType: 'user', actorId: actor.id, action: 'station.created', detail: { stationId: row.id, name: row.name } });
    return { ...this.present(row), apiKey, webhookSecret };
  }

  async list(): Promise<z.infer<typeof stationResponse>[]> {
    return (await this.stations.list()).map((row) => this.present(row));
  }

  private present(row: StationRow): z.infer<typeof stationResponse> {
    return {
      id: row.id,
      name: row.name,
      country: row.country,
      vendor: row.vendor,
      callbackUrl: row.callbackUrl,
      pool: row.pool,
      slaSeconds: row.slaSeconds,
      riskLevel: row.riskLevel,
      createdAt: row.createdAt.toISOString(),
    };
  }
}
