import { z } from 'zod';
import { environmentSchema } from './config.js';

/** The generated table in docs/operations.md sits between these two lines. */
export const REFERENCE_START = '<!-- configuration reference: generated from src/config/config.ts by `npm run docs:config`; edit there, not here -->';
export const REFERENCE_END = '<!-- end of configuration reference -->';
export const REFERENCE_COMMAND = 'npm run docs:config';

/** One variable as the environment schema describes it (its input side, as JSON Schema, plus niix's own keys). */
interface VariableSchema {
  description?: string;
  unset?: string;
  allowed?: string;
  default?: unknown;
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
}

export interface ConfigVariable {
  name: string;
  /** the default as it would be written in the environment, when there is one */
  default?: string;
  /** the default, or what an unset variable means */
  whenUnset: string;
  allowed: string;
  meaning: string;
}

/** Every variable of the environment schema, in schema order; throws naming a variable without a description. */
export function configVariables(): ConfigVariable[] {
  const json = z.toJSONSchema(environmentSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, VariableSchema> };
  return Object.entries(json.properties).map(([name, variable]) => {
    if (!variable.description) {
      throw new Error(`the environment variable ${name} has no description: give it .describe('what it does') in src/config/config.ts`);
    }
    const fallback = variable.default === undefined ? undefined : String(variable.default);
    return {
      name,
      default: fallback,
      whenUnset: fallback !== undefined ? code(fallback) : (variable.unset ?? 'none'),
      allowed: allowedValues(variable),
      meaning: variable.description,
    };
  });
}

/** The markdown table of every variable. */
export function renderConfigReference(): string {
  const rows = configVariables().map((variable) =>
    [code(variable.name), variable.whenUnset, variable.allowed, variable.meaning].map((cell) => cell.replaceAll('|', '\\|')).join(' | '),
  );
  return ['| variable | default | allowed values | meaning |', '|---|---|---|---|', ...rows.map((row) => `| ${row} |`)].join('\n');
}

/** The document with the text between the markers replaced by the table; throws when the markers are missing. */
export function withConfigReference(document: string, table = renderConfigReference()): string {
  const start = document.indexOf(REFERENCE_START);
  const end = document.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error(`the configuration reference markers are missing: put "${REFERENCE_START}" and "${REFERENCE_END}" on lines of their own`);
  return `${document.slice(0, start + REFERENCE_START.length)}\n${table}\n${document.slice(end)}`;
}

function allowedValues(variable: VariableSchema): string {
  if (variable.allowed) return variable.allowed;
  if (variable.enum) return variable.enum.map((value) => code(String(value))).join(', ');
  if (variable.type === 'integer' || variable.type === 'number') {
    const bounds: string[] = [];
    if (variable.minimum !== undefined && variable.maximum !== undefined && variable.maximum < Number.MAX_SAFE_INTEGER) {
      return `${variable.type} ${variable.minimum}–${variable.maximum}`;
    }
    if (variable.minimum !== undefined) bounds.push(`≥ ${variable.minimum}`);
    if (variable.exclusiveMinimum !== undefined) bounds.push(`> ${variable.exclusiveMinimum}`);
    if (variable.maximum !== undefined && variable.maximum < Number.MAX_SAFE_INTEGER) bounds.push(`≤ ${variable.maximum}`);
    return [variable.type, ...bounds].join(' ');
  }
  if (variable.minLength) return `text of at least ${variable.minLength} characters`;
  if (variable.pattern) return `text matching ${code(variable.pattern)}`;
  return 'text';
}

function code(text: string): string {
  return `\`${text}\``;
}
