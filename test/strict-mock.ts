import { inspect } from 'node:util';

/**
 * Strict automatic mocks for unit specs: every method is a jest.fn that throws
 * `unexpected call Class.method(args)` until the spec sets up the call it expects
 * (`scans.findById.mockResolvedValue(row)`), so a service cannot reach a side effect the spec did not plan for.
 * The default throws synchronously, so even a call whose promise the service would `.catch()` fails the test.
 * Build a fresh mock per test (beforeEach): `mockReset()` would drop the throwing default.
 */

/** Names of the function-valued members of T. */
export type MethodKeys<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];

/** Implementations to install at once (a fixed Clock: `{ now: () => NOW }`); the other methods stay strict. */
export type Implementations<T> = { [K in MethodKeys<T>]?: T[K] };

type AnyFunction = (...args: never[]) => unknown;

/** A mock of every method found on the class's prototype chain (up to Object), each strict. */
export function strictMock<T extends object>(cls: abstract new (...args: never[]) => T, implementations: Implementations<T> = {}): jest.Mocked<T> {
  const methods = new Set<string>();
  for (let proto: object | null = cls.prototype as object; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      // Accessors are skipped: reading a getter on a mock is not a call the spec can set up.
      if (key !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, key)?.value === 'function') methods.add(key);
    }
  }
  return build<T>(cls.name, [...methods], implementations, {});
}

/**
 * A strict mock of an interface (no prototype to walk): the methods are named, typos are type errors, a method
 * left out is not a function. `values` gives the non-function members (e.g. `{ kind: 'filesystem' }`).
 */
export function strictMockOf<T extends object>(
  name: string,
  methods: readonly MethodKeys<T>[],
  implementations: Implementations<T> = {},
  values: Partial<T> = {},
): jest.Mocked<T> {
  return build<T>(name, methods.map(String), implementations, values);
}

/**
 * A plain value (a configuration, a row) given partly: reading a property that was not given throws
 * `unexpected read Name.property`, so a spec states every value the code under test depends on.
 */
export function strictValue<T extends object>(name: string, value: Partial<T>): T {
  return new Proxy(value, {
    get(target, property, receiver) {
      if (typeof property === 'symbol' || property in target || property === 'then' || property === 'toJSON') {
        return Reflect.get(target, property, receiver) as unknown;
      }
      throw new Error(`unexpected read ${name}.${property}`);
    },
  }) as T;
}

function build<T>(name: string, methods: string[], implementations: Implementations<T>, values: object): jest.Mocked<T> {
  const mock: Record<string, unknown> = { ...values };
  const given = implementations as Record<string, AnyFunction | undefined>;
  for (const method of methods) {
    mock[method] = jest.fn(
      given[method] ??
        ((...args: unknown[]) => {
          throw new Error(`unexpected call ${name}.${method}(${args.map(describeArgument).join(', ')})`);
        }),
    );
  }
  return mock as jest.Mocked<T>;
}

function describeArgument(value: unknown): string {
  const text = inspect(value, { depth: 2, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 80 });
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
