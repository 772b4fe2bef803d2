import { strictMock, strictMockOf, strictValue } from './strict-mock.js';

class Base {
  inherited(): string {
    return 'real';
  }
}

class Repository extends Base {
  readonly field = 'real';

  find(id: string, options: { deep: boolean }): Promise<string> {
    return Promise.resolve(`${id}${String(options.deep)}`);
  }

  get derived(): string {
    return 'real';
  }
}

interface Store {
  readonly kind: 'memory';
  put(key: string): Promise<void>;
  get(key: string): Promise<Buffer>;
}

describe(strictMock.name, () => {
  it('makes every method, inherited ones too, throw naming the class, the method and the arguments', () => {
    const mock = strictMock(Repository);
    expect(() => mock.find('scan-1', { deep: true })).toThrow("unexpected call Repository.find('scan-1', { deep: true })");
    expect(() => mock.inherited()).toThrow('unexpected call Repository.inherited()');
    expect(mock.find).toHaveBeenCalledWith('scan-1', { deep: true });
  });

  it('answers the calls a test sets up', async () => {
    const mock = strictMock(Repository);
    mock.find.mockResolvedValue('row');
    await expect(mock.find('a', { deep: false })).resolves.toBe('row');
  });

  it('installs given implementations and leaves the rest strict', () => {
    const mock = strictMock(Repository, { inherited: () => 'fixed' });
    expect(mock.inherited()).toBe('fixed');
    expect(() => mock.find('a', { deep: false })).toThrow('unexpected call');
  });

  it('mocks methods only, not fields or accessors', () => {
    const mock = strictMock(Repository) as object;
    expect(Object.keys(mock).sort()).toEqual(['find', 'inherited']);
  });
});

describe(strictMockOf.name, () => {
  it('mocks the named methods of an interface, with values for the other members', async () => {
    const store = strictMockOf<Store>('Store', ['put', 'get'], {}, { kind: 'memory' });
    expect(store.kind).toBe('memory');
    expect(() => store.put('k')).toThrow("unexpected call Store.put('k')");
    store.get.mockResolvedValue(Buffer.from('x'));
    await expect(store.get('k')).resolves.toEqual(Buffer.from('x'));
  });
});

describe(strictValue.name, () => {
  it('returns the given properties and throws on any other', () => {
    const config = strictValue<{ port: number; host: string }>('Config', { port: 1 });
    expect(config.port).toBe(1);
    expect(() => config.host).toThrow('unexpected read Config.host');
  });
});
