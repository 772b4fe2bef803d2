import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { z } from 'zod';
import { BODY_SCHEMA } from '../../src/common/contract.js';
import type { JsonSchema } from './json-schema.arbitrary.js';

/** One route that takes a JSON body: its zod schema (what the service parses with) and its OpenAPI schema. */
export interface JsonRoute {
  /** `POST /api/v1/scans/{id}/verdict`, as the OpenAPI document names it. */
  name: string;
  method: string;
  /** OpenAPI path with `{param}` placeholders. */
  path: string;
  zod: z.ZodType;
  jsonSchema: JsonSchema;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema?: JsonSchema }> } }>>;
}

/** Routes of the running app whose handler parses a JSON body with a zod schema (`@ValidBody`). */
function routesWithBodySchemas(app: NestFastifyApplication): Map<string, z.ZodType> {
  const discovery = app.get(DiscoveryService);
  const scanner = app.get(MetadataScanner);
  const found = new Map<string, z.ZodType>();
  for (const wrapper of discovery.getControllers()) {
    const instance = wrapper.instance as object | undefined;
    if (!instance) continue;
    const prefixes = ([] as unknown[]).concat(Reflect.getMetadata(PATH_METADATA, wrapper.metatype as object) ?? '').map(String);
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name] as object;
      const schema = Reflect.getMetadata(BODY_SCHEMA, handler) as z.ZodType | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (!schema || method === undefined) continue;
      const routePath = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
      for (const prefix of prefixes) {
        const full = `/${[prefix, routePath].filter(Boolean).join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1').replace(/:(\w+)/g, '{$1}');
        found.set(`${RequestMethod[method]} ${full}`, schema);
      }
    }
  }
  return found;
}

/**
 * Every route that takes a JSON body, from the OpenAPI document the service serves, each with the zod schema its
 * handler parses with. Fails when the two disagree (a body schema the document does not show, or the reverse).
 */
export function jsonRoutes(app: NestFastifyApplication, document: OpenApiDocument): JsonRoute[] {
  const schemas = routesWithBodySchemas(app);
  const routes: JsonRoute[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const jsonSchema = operation.requestBody?.content['application/json']?.schema;
      if (!jsonSchema) continue;
      const name = `${method.toUpperCase()} ${path}`;
      const zod = schemas.get(name);
      if (!zod) throw new Error(`the OpenAPI document gives ${name} a JSON body, but its handler has no @ValidBody schema`);
      routes.push({ name, method: method.toUpperCase(), path, zod, jsonSchema });
      schemas.delete(name);
    }
  }
  if (schemas.size) throw new Error(`routes with a body schema missing from the OpenAPI document: ${[...schemas.keys()].join(', ')}`);
  return routes.sort((a, b) => a.name.localeCompare(b.name));
}

/** The route's path with its parameters filled in (each URL-encoded). */
export function routeUrl(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (params[name] === undefined) throw new Error(`no value for path parameter ${name} of ${path}`);
    return encodeURIComponent(params[name]);
  });
}
