import { malformedIdParam } from './id-params.interceptor.js';

describe('malformedIdParam', () => {
  const uuid = '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b';

  it('accepts uuids in id parameters and leaves other parameters alone', () => {
    expect(malformedIdParam({ id: uuid, claimId: uuid, view: 'top', name: 'central', tile: '0_0.png' })).toBeUndefined();
  });

  it('takes result ids as sequence numbers', () => {
    expect(malformedIdParam({ resultId: '42' })).toBeUndefined();
    for (const value of ['0', '-1', '1.5', uuid, '9'.repeat(17), '42\u0000']) expect(malformedIdParam({ resultId: value })).toEqual({ name: 'resultId', value });
  });

  it.each(['not-a-uuid', '', '5D1E8C2A-7B6F-4E0D-8A9B-1C2D3E4F5A6B', `${uuid}\u0000`, '../../etc/passwd', 'a'.repeat(10_000)])('names the id parameter that is %j', (value) => {
    expect(malformedIdParam({ view: 'top', userId: value })).toEqual({ name: 'userId', value });
  });
});
