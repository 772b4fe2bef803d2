import { Body, type PipeTransform, SetMetadata } from '@nestjs/common';
import type { z } from 'zod';
import { parseBody } from './zod-body.js';

/** What the OpenAPI document says of one route; read by OpenApiService. */
export interface RouteDoc {
  summary: string;
  tags?: string[];
  /** Who may call it: a signed-in user, a station's API key, or anyone. */
  auth: 'user' | 'station' | 'user-or-station' | 'none';
  /** Response status → JSON schema of the body, a media type for binary bodies, or a plain description. */
  responses: Record<number, z.ZodType | { mediaType: string; description: string } | string>;
  /** Request body for multipart uploads, described by hand. */
  multipart?: Record<string, { type: 'string' | 'file'; description: string; required?: boolean }>;
  headers?: Record<string, string>;
  /** Optional query parameters: name → description. */
  query?: Record<string, string>;
}

export const ROUTE_DOC = 'niix:route-doc';
export const BODY_SCHEMA = 'niix:body-schema';

/** Documents a route for the OpenAPI document. */
export const ApiDoc = (doc: RouteDoc) => SetMetadata(ROUTE_DOC, doc);

class ZodBodyPipe implements PipeTransform {
  constructor(private readonly schema: z.ZodType) {}
  transform(value: unknown): unknown {
    return parseBody(this.schema, value);
  }
}

/** The JSON body parsed and checked with a zod schema (400 `invalid_body` otherwise); also documented. */
export function ValidBody(schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    if (key !== undefined) {
      const handler = (target as Record<string | symbol, unknown>)[key] as object;
      Reflect.defineMetadata(BODY_SCHEMA, schema, handler);
    }
    Body(new ZodBodyPipe(schema))(target, key, index);
  };
}
