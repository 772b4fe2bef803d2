import { Injectable } from '@nestjs/common';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { z } from 'zod';
import { BODY_SCHEMA, ROUTE_DOC, type RouteDoc } from './contract.js';

const errorSchema = z.object({
  error: z.object({ code: z.string().describe('machine-readable code'), message: z.string().describe('one sentence for people') }),
});

type JsonObject = Record<string, unknown>;

/** Builds the OpenAPI 3.1 document from the controllers' routes, their zod schemas and ApiDoc metadata. */
@Injectable()
export class OpenApiService {
  private cached?: JsonObject;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  document(): JsonObject {
    this.cached ??= this.build();
    return this.cached;
  }

  private build(): JsonObject {
    const paths: Record<string, Record<string, JsonObject>> = {};
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance) continue;
      // A controller may serve the same routes under several prefixes (@Controller([...])).
      const prefixes = ([] as unknown[]).concat(Reflect.getMetadata(PATH_METADATA, wrapper.metatype as object) ?? '').map(String);
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as object;
        const doc = Reflect.getMetadata(ROUTE_DOC, handler) as RouteDoc | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (!doc || method === undefined) continue;
        const routePath = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        const body = Reflect.getMetadata(BODY_SCHEMA, handler) as z.ZodType | undefined;
        for (const prefix of prefixes) {
          const full = `/${[prefix, routePath].filter(Boolean).join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1').replace(/:(\w+)/g, '{$1}');
          (paths[full] ??= {})[RequestMethod[method].toLowerCase()] = this.operation(full, doc, body);
        }
      }
    }
    const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
    return {
      openapi: '3.1.0',
      info: {
        title: 'niix API',
        version: '1',
        description:
          'Stations upload scans and read their results; analysts, supervisors and administrators use the rest. ' +
          'Errors are always `{ "error": { "code", "message" } }`.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          user: { type: 'http', scheme: 'bearer', description: 'token from POST /api/v1/auth/login' },
          station: { type: 'http', scheme: 'bearer', description: "the station's API key" },
        },
        schemas: { Error: this.schema(errorSchema) },
      },
      paths: sorted,
    };
  }

  private operation(path: string, doc: RouteDoc, body: z.ZodType | undefined): JsonObject {
    const parameters: JsonObject[] = [...path.matchAll(/\{(\w+)\}/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    for (const [name, description] of Object.entries(doc.headers ?? {})) {
      parameters.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
    }
    for (const [name, description] of Object.entries(doc.query ?? {})) {
      parameters.push({ name, in: 'query', required: false, description, schema: { type: 'string' } });
    }
    const operation: JsonObject = { summary: doc.summary, tags: doc.tags ?? [path.split('/')[3] ?? 'service'] };
    if (parameters.length) operation.parameters = parameters;
    if (doc.auth === 'user') operation.security = [{ user: [] }];
    if (doc.auth === 'station') operation.security = [{ station: [] }];
    if (doc.auth === 'user-or-station') operation.security = [{ user: [] }, { station: [] }];
    if (body) operation.requestBody = { required: true, content: { 'application/json': { schema: this.schema(body) } } };
    if (doc.multipart) {
      const properties: JsonObject = {};
      const required: string[] = [];
      for (const [name, part] of Object.entries(doc.multipart)) {
        properties[name] =
          part.type === 'file'
            ? { type: 'string', format: 'binary', description: part.description }
            : { type: 'string', description: part.description };
        if (part.required) required.push(name);
      }
      operation.requestBody = {
        required: true,
        content: { 'multipart/form-data': { schema: { type: 'object', properties, required } } },
      };
    }
    const responses: JsonObject = {};
    for (const [status, response] of Object.entries(doc.responses)) {
      if (typeof response === 'string') responses[status] = { description: response };
      else if ('mediaType' in response && typeof response.mediaType === 'string') {
        responses[status] = { description: response.description, content: { [response.mediaType]: {} } };
      } else {
        responses[status] = { description: 'OK', content: { 'application/json': { schema: this.schema(response as z.ZodType) } } };
      }
    }
    responses.default = { description: 'an error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    operation.responses = responses;
    return operation;
  }

  private schema(schema: z.ZodType): JsonObject {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject;
    delete json.$schema;
    return json;
  }
}
